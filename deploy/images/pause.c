/*
 * pause — the sandbox process of a minik8s pod.
 *
 * Why it exists: every pod first gets one container whose only job is to own the pod's
 * network namespace, so the app containers can join it, crash and restart without the
 * pod losing its IP. It runs as PID 1 of that container, so it must (a) install real
 * handlers for SIGTERM/SIGINT — the kernel drops signals PID 1 does not handle, which
 * would make every `docker stop` wait out its whole grace period — and (b) reap any
 * child that ends up reparented to it, so no zombies pile up. Everything else is sleep.
 *
 * Built static (`gcc -static -Os`) by deploy/images/build.sh, so the image needs no libc.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void exit_on_stop_signal(int signal_number) {
    (void)signal_number;
    _exit(0);
}

static void reap_finished_children(int signal_number) {
    (void)signal_number;
    int saved_errno = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved_errno;
}

static int install_handler(int signal_number, void (*handler)(int), int flags) {
    struct sigaction action = {0};
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigemptyset(&action.sa_mask);
    return sigaction(signal_number, &action, NULL);
}

int main(void) {
    if (install_handler(SIGTERM, exit_on_stop_signal, 0) != 0 ||
        install_handler(SIGINT, exit_on_stop_signal, 0) != 0 ||
        install_handler(SIGCHLD, reap_finished_children, SA_NOCLDSTOP | SA_RESTART) != 0) {
        static const char message[] = "pause: cannot install signal handlers\n";
        (void)!write(STDERR_FILENO, message, sizeof message - 1);
        return 1;
    }
    for (;;) {
        pause();
    }
}
