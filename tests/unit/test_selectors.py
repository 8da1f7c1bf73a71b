"""Label and field selectors select what kubectl -l / --field-selector and controllers expect."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minik8s.api.selectors import (
    FieldRequirement,
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    label_selector_from_object,
    label_selector_from_requirements,
    label_selector_from_set,
    parse_field_selector,
    parse_label_selector,
)

_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["", "a", "In", "Exists", "x y"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["matchLabels", "matchExpressions", "key", "operator", "values", "a"]), children
        )
    ),
    max_leaves=12,
)

WEB_PROD = {"app": "web", "env": "prod", "tier": "frontend", "replicas": "3"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("env in (prod,staging)", True),
        ("env in (staging)", False),
        ("env notin (dev)", True),
        ("env notin (prod)", False),
        ("missing notin (x)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("app=web,env=prod", True),
        ("app=web,env=dev", False),
        ("  app = web ,  env  in  ( prod , dev )  ", True),
        ("replicas>2", True),
        ("replicas<3", False),
        ("app>2", False),
        ("", True),
        ("missing=", False),
        ("missing in ()", False),
    ],
)
def test_label_selector_string_matches_like_kubernetes(text, matches):
    assert parse_label_selector(text).matches(WEB_PROD) is matches


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("b=1,a=2", "a=2,b=1"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("env in (b, a, b)", "env in (a,b)"),
        ("a==b", "a==b"),
        ("!a", "!a"),
        ("a>5", "a>5"),
        ("example.com/app=x", "example.com/app=x"),
        ("in in (in)", "in in (in)"),
        ("a=", "a="),
    ],
)
def test_label_selector_renders_canonically(text, canonical):
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a in b", "expected: '('"),
        ("a in (b c)", "found 'c'"),
        (",a", "expected: !, identifier, or 'end of string'"),
        ("a,", "expected: identifier after ','"),
        ("a ~ b", "expected: in, notin, =, ==, !=, gt, lt"),
        ("Bad Key=x", "found 'Key'"),
        ("bad_=x", 'key: Invalid value: "bad_"'),
        ("x/y/z=1", "a valid label key must consist of"),
        ("a=" + "v" * 64, "must be no more than 63 characters"),
        ("a=-v", "a valid label must be an empty string"),
        ("a>b", "the value must be an integer"),
        ("!a=b", "found '='"),
    ],
)
def test_bad_label_selector_strings_are_rejected_with_a_clear_message(text, fragment):
    with pytest.raises(SelectorError) as raised:
        parse_label_selector(text)
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]},
            {"env": "qa"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            {"env": "prod"},
            False,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, {"env": ""}, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, {"env": ""}, False),
        (
            {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "Exists"}]},
            {"app": "web"},
            False,
        ),
        ({}, {"anything": "x"}, True),
        (None, {}, True),
    ],
)
def test_label_selector_objects_select_as_controllers_expect(selector, labels, matches):
    assert label_selector_from_object(selector).matches(labels) is matches


def test_empty_selector_objects_are_empty_so_the_caller_can_decide():
    assert label_selector_from_object(None).is_empty()
    assert label_selector_from_object({}).is_empty()
    assert not label_selector_from_object({"matchLabels": {"a": "b"}}).is_empty()


@pytest.mark.parametrize(
    ("selector", "fragment"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
            "not a valid label selector operator",
        ),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "values set can't be empty"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "values set must be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": ["In"], "values": ["x"]}]},
            "not a valid label selector operator",
        ),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]}, "values a list of strings"),
        ({"matchLabels": {"bad key": "x"}}, "name part must consist of"),
        ({"matchLabels": {"a": 1}}, "must be a string"),
        ({"matchLabels": ["a"]}, "matchLabels must be a map"),
        ({"matchExpressions": {"key": "a"}}, "matchExpressions must be a list"),
        ("app=web", "must be an object"),
    ],
)
def test_invalid_selector_objects_raise(selector, fragment):
    with pytest.raises(SelectorError) as raised:
        label_selector_from_object(selector)
    assert fragment in str(raised.value)


@settings(max_examples=150)
@given(selector=_ANY_JSON)
def test_selector_objects_of_any_shape_give_a_selector_or_a_selector_error(selector):
    try:
        result = label_selector_from_object(selector)
    except SelectorError as error:
        assert str(error)
    else:
        assert isinstance(result, LabelSelector)


def test_object_and_string_forms_agree():
    from_object = label_selector_from_object(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]}],
        }
    )
    assert from_object == parse_label_selector("env in (a,b),app=web")
    assert str(from_object) == "app=web,env in (a,b)"


def test_selector_from_a_service_style_map():
    selector = label_selector_from_set({"tier": "f", "app": "web"})
    assert str(selector) == "app=web,tier=f"
    assert selector.matches(WEB_PROD) is False
    assert selector.matches({"app": "web", "tier": "f"}) is True
    assert selector.requires_exact_match("app") == "web"
    assert parse_label_selector("env in (a,b)").requires_exact_match("env") is None


_ALNUM = st.text(alphabet="abcxyzAZ019", min_size=1, max_size=5)
_NAME = st.one_of(_ALNUM, st.builds(lambda a, sep, b: a + sep + b, _ALNUM, st.sampled_from("-_."), _ALNUM))
_KEY = st.one_of(
    _NAME, st.builds(lambda prefix, name: f"{prefix}/{name}", st.sampled_from(["k8s.io", "a.b"]), _NAME)
)
_VALUE = st.one_of(st.just(""), _NAME)


@st.composite
def _requirements(draw: st.DrawFn) -> Requirement:
    operator = draw(st.sampled_from(list(Operator)))
    key = draw(_KEY)
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        values: tuple[str, ...] = ()
    elif operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        values = (str(draw(st.integers(min_value=0, max_value=999))),)
    elif operator in (Operator.IN, Operator.NOT_IN):
        values = tuple(sorted(set(draw(st.lists(_VALUE, min_size=1, max_size=4)))))
    else:
        values = (draw(_VALUE),)
    return Requirement(key, operator, values)


_SELECTORS = st.lists(_requirements(), max_size=5).map(label_selector_from_requirements)
_LABELS = st.dictionaries(
    st.sampled_from(["app", "env", "k8s.io/x", "a.b/y", "n"]), st.one_of(_VALUE, st.integers(0, 9).map(str))
)


@given(selector=_SELECTORS, labels=_LABELS)
def test_label_selector_string_form_round_trips_with_the_same_meaning(selector: LabelSelector, labels):
    reparsed = parse_label_selector(str(selector))
    assert reparsed == selector
    assert reparsed.matches(labels) == selector.matches(labels)
    assert str(parse_label_selector(str(reparsed))) == str(selector)


FIELDS = {"metadata.name": "p1", "spec.nodeName": "", "status.phase": "Running"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("metadata.name=p1", True),
        ("metadata.name==p1", True),
        ("metadata.name!=p1", False),
        ("spec.nodeName=", True),
        ("spec.nodeName=n1", False),
        ("status.phase!=Succeeded,status.phase!=Failed", True),
        ("status.phase!=Succeeded,status.phase!=Running", False),
        ("missing.field=", True),
        ("", True),
        (" metadata.name = p1 ", True),
    ],
)
def test_field_selectors_match_string_fields(text, matches):
    assert parse_field_selector(text).matches(FIELDS) is matches


def test_field_selector_exposes_requirements_for_the_apiserver():
    selector = parse_field_selector("spec.nodeName=n1,status.phase!=Failed,metadata.name==x")
    assert selector.requirements == (
        FieldRequirement("spec.nodeName", "=", "n1"),
        FieldRequirement("status.phase", "!=", "Failed"),
        FieldRequirement("metadata.name", "=", "x"),
    )
    assert selector.field_names() == {"spec.nodeName", "status.phase", "metadata.name"}
    assert selector.requires_exact_match("spec.nodeName") == "n1"
    assert selector.requires_exact_match("status.phase") is None
    assert parse_field_selector("").is_empty()


@pytest.mark.parametrize(
    ("text", "value"),
    [("a=x\\,y", "x,y"), ("a=x\\=y", "x=y"), ("a=x\\\\y", "x\\y")],
)
def test_field_selector_values_may_escape_separators(text, value):
    selector = parse_field_selector(text)
    assert selector.requirements[0].value == value
    assert parse_field_selector(str(selector)) == selector


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metadata.name", "can't understand 'metadata.name'"),
        ("=x", "can't understand '=x'"),
        ("a=b=c", "unescaped '='"),
        ("a=b\\q", "invalid escape sequence"),
    ],
)
def test_bad_field_selectors_are_rejected(text, fragment):
    with pytest.raises(SelectorError) as raised:
        parse_field_selector(text)
    assert fragment in str(raised.value)


@settings(max_examples=300)
@given(text=st.text(alphabet="ab=!(),<> in\\x-1.", max_size=20))
def test_any_selector_text_parses_or_raises_a_selector_error(text):
    for parse in (parse_label_selector, parse_field_selector):
        try:
            parse(text)
        except SelectorError as error:
            assert str(error)
