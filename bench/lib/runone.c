/* runone: run one command and report its wall time, peak RSS and CPU time.
 *
 *   runone OUTFILE LOGFILE CMD [ARG...]
 *
 * Forks from this small (statically linked) process -- not from Python, whose
 * memory a forked child's peak RSS would inherit (Linux folds the pre-exec
 * mm's high-water mark into ru_maxrss) -- execs CMD with stdout/stderr to
 * LOGFILE, waits with wait4(), and writes to OUTFILE:
 *   <wall ns> <ru_maxrss KiB> <user us> <sys us> <exit status or 128+signal>
 * Wall time is CLOCK_MONOTONIC from just before fork() to wait4() returning. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: runone OUTFILE LOGFILE CMD [ARG...]\n");
        return 2;
    }
    int log = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || devnull < 0) {
        perror("runone: open");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runone: fork");
        return 2;
    }
    if (pid == 0) {
        dup2(devnull, 0);
        dup2(log, 1);
        dup2(log, 2);
        execvp(argv[3], argv + 3);
        perror("runone: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("runone: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror("runone: fopen");
        return 2;
    }
    fprintf(out, "%lld %ld %lld %lld %d\n", ns, ru.ru_maxrss,
            (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, code);
    fclose(out);
    return 0;
}
