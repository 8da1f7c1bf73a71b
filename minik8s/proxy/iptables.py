"""The proxy's thin side effects on iptables: apply a restore text, read the tables back, fix jumps.

Rendering is pure (rules.py); this module is the only one that runs `iptables-restore`,
`iptables-save` and `iptables`. What it decides is kept in pure helpers too (parsing a save, the
text that puts the jump rules first, the text that removes everything of a prefix, comparing
what we declared with what the kernel holds), so they are tested without root; the functions that
run commands only glue those helpers to the binaries. Jump rules live outside the restore text
because they sit in built-in chains that others (Docker) own and reorder: they are re-checked on
every sync and moved back to the top (docs/architecture.md, "Networking"). `cleanup` undoes it all
(and the service CIDR route of host.py) for `minik8s down`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from minik8s.proxy.commands import CommandError, run_command
from minik8s.proxy.host import DEFAULT_SERVICE_CIDR, unsink_service_cidr
from minik8s.proxy.rules import DEFAULT_PREFIX, ChainKey

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = "5"
TABLES = ("filter", "nat")
DOCKER_USER = "DOCKER-USER"

TableRules = dict[str, list[str]]  # chain → its rules as iptables-save prints them ("-A CHAIN ...")
Tables = dict[str, TableRules]  # table → chains


@dataclass(frozen=True)
class Jump:
    """A rule in a chain we do not own that sends packets into one of ours."""

    table: str
    chain: str
    target: str


def jumps(prefix: str = DEFAULT_PREFIX) -> tuple[Jump, ...]:
    """The jump rules from the built-in chains into ours, in the order they must head their chains."""
    return (
        Jump("nat", "PREROUTING", prefix + "SERVICES"),
        Jump("nat", "OUTPUT", prefix + "SERVICES"),
        Jump("nat", "POSTROUTING", prefix + "POSTROUTING"),
        Jump("filter", DOCKER_USER, prefix + "SERVICES"),
        Jump("filter", DOCKER_USER, prefix + "FORWARD"),
        Jump("filter", "OUTPUT", prefix + "SERVICES"),
        Jump("filter", "OUTPUT", prefix + "FIREWALL"),
        Jump("filter", "INPUT", prefix + "FIREWALL"),
    )


# -- running commands -------------------------------------------------------------------------------


def restore(text: str) -> None:
    """Apply a restore text without touching chains it does not declare (atomic per table)."""
    run_command(["iptables-restore", "--noflush", "-w", LOCK_WAIT_SECONDS], input_text=text)


def read_tables(tables: Iterable[str] = TABLES) -> Tables:
    """The chains and rules of each table, as `iptables-save -t TABLE` shows them."""
    found: Tables = {}
    for table in tables:
        found.update(parse_save(run_command(["iptables-save", "-t", table])))
        found.setdefault(table, {})
    return found


def read_jump_chains(wanted: Sequence[Jump]) -> Tables:
    """Only the chains our jumps start from, read cheaply (they are checked on every sync).

    `iptables -S CHAIN` takes ~3 ms where `iptables-save` of any table takes ~150 ms once the nat
    table holds 1,000 services (the nf_tables backend reads everything).

    A chain that cannot be listed (DOCKER-USER before Docker made it) sends us to the table's full
    save, which tells a missing chain from a failure for sure: a chain is only ever created, never
    flushed, on the word of a full save.
    """
    tables: Tables = {}
    for table, chain in sorted({(jump.table, jump.chain) for jump in wanted}):
        if table in tables and chain in tables[table]:
            continue
        try:
            listing = run_command(["iptables", "-w", LOCK_WAIT_SECONDS, "-t", table, "-S", chain])
        except CommandError:
            tables.update(read_tables([table]))
            continue
        tables.setdefault(table, {})[chain] = [line for line in listing.splitlines() if line.startswith("-A ")]
    return tables


# -- pure helpers -----------------------------------------------------------------------------------


def parse_save(text: str) -> Tables:
    """`iptables-save` output → table → chain → rules (every declared chain, even an empty one)."""
    tables: Tables = {}
    chains: TableRules = {}
    for line in text.splitlines():
        if line.startswith("*"):
            chains = tables.setdefault(line[1:].strip(), {})
        elif line.startswith(":"):
            chains.setdefault(line[1:].split(" ", 1)[0], [])
        elif line.startswith("-A "):
            chain = line.split(" ", 2)[1]
            chains.setdefault(chain, []).append(line)
    return tables


def rule_target(rule: str) -> str | None:
    """The chain or target a rule jumps (`-j`) or goes (`-g`) to."""
    words = rule.split()
    for index, word in enumerate(words[:-1]):
        if word in ("-j", "-g", "--jump", "--goto"):
            return words[index + 1]
    return None


def chains_with_prefix(tables: Mapping[str, TableRules], prefix: str = DEFAULT_PREFIX) -> set[str]:
    return {chain for chains in tables.values() for chain in chains if chain.startswith(prefix)}


def jump_repair_text(tables: Mapping[str, TableRules], wanted: Sequence[Jump]) -> tuple[str, list[str]]:
    """The restore text that puts our jump rules first in their chains, and which chains it fixes.

    Nothing (an empty text) when every chain already starts with exactly its jumps, in order. A
    missing DOCKER-USER is created (and entered from FORWARD, as Docker would do).
    """
    by_chain: dict[ChainKey, list[str]] = {}
    for jump in wanted:
        by_chain.setdefault((jump.table, jump.chain), []).append(jump.target)
    sections: dict[str, list[str]] = {}
    repaired: list[str] = []
    for (table, chain), targets in by_chain.items():
        chains = tables.get(table, {})
        lines = sections.setdefault(table, [])
        if chain not in chains:
            if chain != DOCKER_USER:
                logger.error("chain %s/%s does not exist: cannot jump from it to %s", table, chain, targets)
                continue
            lines.append(f":{DOCKER_USER} - [0:0]")
            if not any(rule_target(rule) == DOCKER_USER for rule in chains.get("FORWARD", [])):
                lines.append(f"-I FORWARD 1 -j {DOCKER_USER}")
        rules = chains.get(chain, [])
        ours = [rule for rule in rules if rule_target(rule) in targets]
        if rules[: len(targets)] == [f"-A {chain} -j {target}" for target in targets] and len(ours) == len(targets):
            continue
        repaired.append(f"{table}/{chain}")
        lines += ["-D" + rule[2:] for rule in ours]
        lines += [f"-I {chain} 1 -j {target}" for target in reversed(targets)]
    text = "".join(f"*{table}\n" + "".join(line + "\n" for line in lines) + "COMMIT\n"
                   for table, lines in sections.items() if lines)
    return text, repaired


def drift(expected: Mapping[ChainKey, int], tables: Mapping[str, TableRules]) -> list[str]:
    """How the kernel differs from what we declared: missing chains, and chains with other rule counts."""
    found: list[str] = []
    for (table, chain), count in sorted(expected.items()):
        rules = tables.get(table, {}).get(chain)
        if rules is None:
            found.append(f"{table}/{chain} is missing")
        elif len(rules) != count:
            found.append(f"{table}/{chain} has {len(rules)} rules, not {count}")
    return found


def cleanup_text(tables: Mapping[str, TableRules], prefix: str = DEFAULT_PREFIX) -> str:
    """The restore text that removes every chain of the prefix and every rule jumping into one."""
    sections: list[str] = []
    for table, chains in tables.items():
        ours = sorted(chain for chain in chains if chain.startswith(prefix))
        entries = [rule for chain, rules in chains.items() if not chain.startswith(prefix)
                   for rule in rules if (rule_target(rule) or "").startswith(prefix)]
        if not ours and not entries:
            continue
        lines = [f":{chain} - [0:0]" for chain in ours]
        lines += ["-D" + rule[2:] for rule in entries]
        lines += [f"-X {chain}" for chain in ours]
        sections.append(f"*{table}\n" + "\n".join(lines) + "\nCOMMIT\n")
    return "".join(sections)


# -- effects ----------------------------------------------------------------------------------------


def ensure_jumps(tables: Mapping[str, TableRules] | None = None, *,
                 wanted: Sequence[Jump] | None = None) -> list[str]:
    """Put our jump rules first in their chains; the chains that needed it (`table/chain`)."""
    wanted = jumps() if wanted is None else wanted
    if tables is None:
        tables = read_jump_chains(wanted)
    text, repaired = jump_repair_text(tables, wanted)
    if text:
        restore(text)
    return repaired


def cleanup(*, prefix: str = DEFAULT_PREFIX, service_cidr: str | None = DEFAULT_SERVICE_CIDR) -> None:
    """Remove every chain of the prefix (both tables), every rule jumping into one, and the route.

    `service_cidr=None` keeps the route (tests and benchmarks, which never add it).
    """
    text = cleanup_text(read_tables(), prefix)
    if text:
        restore(text)
    if service_cidr is not None:
        unsink_service_cidr(service_cidr)
