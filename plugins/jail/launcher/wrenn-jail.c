// wrenn-jail: starts one program (a VMM, a page server) inside a sandbox's jail, then returns.
//
// Run as root by the silo. In order:
//   1. joins the sandbox's network namespace and cgroups, opens the TAP device it hands over;
//   2. forks an init into a new PID namespace (its PID 1), in a session of its own, which
//   3. unshares its mount, IPC and UTS namespaces, builds a fresh root on a tmpfs (only the
//      paths asked for, bind-mounted read-only or read-write, device nodes made for the jail's
//      uid), pivot_roots into it and makes it read-only,
//   4. sets the rlimits, drops every capability, the supplementary groups, gid and uid, sets
//      no_new_privs and makes itself non-dumpable (so the program cannot ptrace it),
//   5. forks the program and execs it; then stays PID 1: it forwards SIGTERM, SIGINT, SIGHUP and
//      SIGQUIT to the program, reaps, and exits with the program's status (which ends the PID
//      namespace and anything left in it).
// The first process prints "INIT_PID PROGRAM_PID" (host pids) once the program runs, and exits 0;
// or prints what failed on stderr and exits 1, leaving nothing running.
//
// Options (paths are host paths; inside the jail each appears at the same path):
//   --netns PATH          join this network namespace (/run/netns/NAME)
//   --cgroup DIR          join this cgroup (repeatable: one per cgroup v1 hierarchy)
//   --log PATH            append the init's and the program's stdout and stderr here
//   --tap-fd NAME:FD      open TAP device NAME (in the netns) and hand it over as descriptor FD
//   --tap-owner NAME      let the jail's uid open TAP device NAME itself (persistent owner/group)
//   --uid N --gid N       run as this uid and gid (without them: no privilege drop)
//   --root DIR            build a fresh root, with DIR (an empty folder) as its mount point
//   --bind PATH           the path, read-write           (with --root)
//   --ro-bind PATH        the path, read-only            (with --root)
//   --device PATH         a device node like the host's, owned by the jail's uid (with --root)
//   --symlink TARGET:PATH a symbolic link               (with --root)
//   --proc                a /proc of the jail's PID namespace (with --root)
//   --new-pid             a new PID namespace
//   --nofile N            RLIMIT_NOFILE
//   --fsize BYTES         RLIMIT_FSIZE
//   --env NAME=VALUE      the program's environment (nothing else is passed)
//   -- PROGRAM ARGS...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#define MAX_ITEMS 256
#define FIRST_HIGH_FD 200

enum op_kind { OP_BIND, OP_RO_BIND, OP_DEVICE, OP_SYMLINK, OP_PROC };
struct op { enum op_kind kind; const char *path; const char *target; };
struct tap_fd { const char *name; int target; int fd; };

static const char *netns_path, *log_path, *root_dir;
static const char *cgroups[16];
static int ncgroups;
static struct op ops[MAX_ITEMS];
static int nops;
static struct tap_fd taps[8];
static int ntaps;
static const char *tap_owners[8];
static int ntap_owners;
static uid_t uid;
static gid_t gid;
static int have_uid, have_gid, new_pid;
static long long nofile = -1, fsize = -1;
static char *envp[MAX_ITEMS + 1];
static int nenv;
static char **program;
static int status_fd = -1; // init → first process: "ok" or what failed

static void fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

// Reports what failed (to the first process if this is the init, else on stderr) and exits.
static void fail(const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (status_fd >= 0) {
        dprintf(status_fd, "error: %s\n", message);
        _exit(1);
    }
    fprintf(stderr, "wrenn-jail: %s\n", message);
    exit(1);
}

static long long number(const char *option, const char *text) {
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0)
        fail("%s wants a non-negative number, got '%s'", option, text);
    return value;
}

static void add_op(enum op_kind kind, const char *path, const char *target) {
    if (nops == MAX_ITEMS)
        fail("too many paths (at most %d)", MAX_ITEMS);
    if (kind != OP_PROC && path[0] != '/')
        fail("'%s' is not an absolute path", path);
    ops[nops++] = (struct op){kind, path, target};
}

static void parse(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "--") == 0) {
            if (i + 1 >= argc)
                fail("no program after --");
            program = argv + i + 1;
            return;
        }
        if (strcmp(option, "--proc") == 0) { add_op(OP_PROC, "/proc", NULL); continue; }
        if (strcmp(option, "--new-pid") == 0) { new_pid = 1; continue; }
        if (i + 1 >= argc)
            fail("%s needs a value", option);
        char *value = argv[++i];
        if (strcmp(option, "--netns") == 0) netns_path = value;
        else if (strcmp(option, "--log") == 0) log_path = value;
        else if (strcmp(option, "--root") == 0) root_dir = value;
        else if (strcmp(option, "--cgroup") == 0) {
            if (ncgroups == 16) fail("too many cgroups");
            cgroups[ncgroups++] = value;
        } else if (strcmp(option, "--tap-fd") == 0) {
            char *colon = strrchr(value, ':');
            if (colon == NULL || ntaps == 8) fail("--tap-fd wants NAME:FD, got '%s'", value);
            *colon = '\0';
            int target = (int)number("--tap-fd", colon + 1);
            if (target < 3 || target >= FIRST_HIGH_FD) fail("--tap-fd: descriptor %d is out of 3..%d", target, FIRST_HIGH_FD - 1);
            taps[ntaps++] = (struct tap_fd){value, target, -1};
        } else if (strcmp(option, "--tap-owner") == 0) {
            if (ntap_owners == 8) fail("too many --tap-owner");
            tap_owners[ntap_owners++] = value;
        } else if (strcmp(option, "--uid") == 0) { uid = (uid_t)number(option, value); have_uid = 1; }
        else if (strcmp(option, "--gid") == 0) { gid = (gid_t)number(option, value); have_gid = 1; }
        else if (strcmp(option, "--bind") == 0) add_op(OP_BIND, value, NULL);
        else if (strcmp(option, "--ro-bind") == 0) add_op(OP_RO_BIND, value, NULL);
        else if (strcmp(option, "--device") == 0) add_op(OP_DEVICE, value, NULL);
        else if (strcmp(option, "--symlink") == 0) {
            char *colon = strchr(value, ':');
            if (colon == NULL) fail("--symlink wants TARGET:PATH, got '%s'", value);
            *colon = '\0';
            add_op(OP_SYMLINK, colon + 1, value);
        } else if (strcmp(option, "--nofile") == 0) nofile = number(option, value);
        else if (strcmp(option, "--fsize") == 0) fsize = number(option, value);
        else if (strcmp(option, "--env") == 0) {
            if (nenv == MAX_ITEMS || strchr(value, '=') == NULL) fail("--env wants NAME=VALUE, got '%s'", value);
            envp[nenv++] = value;
        } else fail("unknown option %s", option);
    }
    fail("no program given (end the options with -- PROGRAM ARGS...)");
}

static void check(void) {
    if (have_uid != have_gid)
        fail("--uid and --gid go together");
    if (have_uid && (uid == 0 || gid == 0))
        fail("the jail's uid and gid must not be 0");
    if (nops > 0 && root_dir == NULL)
        fail("paths were given without --root");
    if (program[0][0] != '/')
        fail("the program must be an absolute path, got '%s'", program[0]);
}

// Writes TEXT into FILE (a cgroup's cgroup.procs).
static void write_file(const char *file, const char *text) {
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open %s: %s", file, strerror(errno));
    if (write(fd, text, strlen(text)) < 0)
        fail("write %s: %s", file, strerror(errno));
    close(fd);
}

static int open_tap(const char *name, short flags) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fail("open /dev/net/tun: %s", strerror(errno));
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, IFNAMSIZ, "%s", name);
    request.ifr_flags = flags;
    if (ioctl(fd, TUNSETIFF, &request) < 0)
        fail("attach TAP device %s: %s", name, strerror(errno));
    return fd;
}

// Creates every missing folder of PATH (inside the new root's tmpfs).
static void make_dirs(const char *path) {
    char buffer[PATH_MAX];
    snprintf(buffer, sizeof buffer, "%s", path);
    for (char *slash = buffer + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = '\0';
        if (mkdir(buffer, 0755) < 0 && errno != EEXIST)
            fail("mkdir %s: %s", buffer, strerror(errno));
        *slash = '/';
    }
    if (mkdir(buffer, 0755) < 0 && errno != EEXIST)
        fail("mkdir %s: %s", buffer, strerror(errno));
}

static void make_parent(const char *path) {
    char buffer[PATH_MAX];
    snprintf(buffer, sizeof buffer, "%s", path);
    char *slash = strrchr(buffer, '/');
    if (slash != NULL && slash != buffer) {
        *slash = '\0';
        make_dirs(buffer);
    }
}

static void apply(const struct op *op) {
    char inside[PATH_MAX];
    snprintf(inside, sizeof inside, "%s%s", root_dir, op->path);
    struct stat host;
    switch (op->kind) {
    case OP_SYMLINK:
        make_parent(inside);
        if (symlink(op->target, inside) < 0 && errno != EEXIST)
            fail("symlink %s -> %s: %s", op->path, op->target, strerror(errno));
        return;
    case OP_PROC:
        make_dirs(inside);
        if (mount("proc", inside, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            fail("mount /proc: %s", strerror(errno));
        return;
    case OP_DEVICE:
        if (stat(op->path, &host) < 0)
            fail("%s: %s", op->path, strerror(errno));
        if (!S_ISCHR(host.st_mode) && !S_ISBLK(host.st_mode))
            fail("%s is not a device", op->path);
        make_parent(inside);
        if (mknod(inside, (host.st_mode & S_IFMT) | 0600 | (host.st_mode & 0666), host.st_rdev) < 0)
            fail("mknod %s: %s", op->path, strerror(errno));
        if (have_uid && chown(inside, uid, gid) < 0)
            fail("chown %s: %s", op->path, strerror(errno));
        return;
    case OP_BIND:
    case OP_RO_BIND:
        if (stat(op->path, &host) < 0)
            fail("%s: %s", op->path, strerror(errno));
        if (S_ISDIR(host.st_mode)) {
            make_dirs(inside);
        } else {
            make_parent(inside);
            int fd = open(inside, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            if (fd < 0 && errno != EROFS && errno != EACCES)
                fail("mount point %s: %s", op->path, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        if (mount(op->path, inside, NULL, MS_BIND, NULL) < 0)
            fail("bind %s: %s", op->path, strerror(errno));
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (op->kind == OP_RO_BIND ? MS_RDONLY : 0);
        if (mount(NULL, inside, NULL, flags, NULL) < 0)
            fail("remount %s: %s", op->path, strerror(errno));
        return;
    }
}

// The new root: a tmpfs holding only what was asked for; the host's tree is gone afterwards.
static void build_root(void) {
    umask(0); // device nodes and folders get exactly the modes asked for
    if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        fail("unshare the mount namespace: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail("make / private: %s", strerror(errno));
    // No nodev: the device nodes made for the jail live on it (nothing else can make any).
    if (mount("tmpfs", root_dir, "tmpfs", MS_NOSUID, "mode=0755,size=4m") < 0)
        fail("mount the root tmpfs on %s: %s", root_dir, strerror(errno));
    for (int i = 0; i < nops; i++)
        apply(&ops[i]);
    char old_root[PATH_MAX];
    snprintf(old_root, sizeof old_root, "%s/.old-root", root_dir);
    if (mkdir(old_root, 0700) < 0)
        fail("mkdir %s: %s", old_root, strerror(errno));
    if (syscall(SYS_pivot_root, root_dir, old_root) < 0)
        fail("pivot_root: %s", strerror(errno));
    if (chdir("/") < 0)
        fail("chdir /: %s", strerror(errno));
    if (umount2("/.old-root", MNT_DETACH) < 0)
        fail("detach the old root: %s", strerror(errno));
    if (rmdir("/.old-root") < 0)
        fail("rmdir /.old-root: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) < 0)
        fail("make the root read-only: %s", strerror(errno));
    umask(022); // as a root VMM had it: what the program writes (snapshot files) stays readable by later jails
}

static void set_limit(int resource, long long value, const char *name) {
    if (value < 0)
        return;
    struct rlimit limit = {(rlim_t)value, (rlim_t)value};
    if (setrlimit(resource, &limit) < 0)
        fail("setrlimit %s: %s", name, strerror(errno));
}

static void drop_privileges(void) {
    // Up to 63: the running kernel may know more capabilities than these headers (EINVAL past its last).
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            fail("drop capability %d from the bounding set: %s", cap, strerror(errno));
    if (setgroups(0, NULL) < 0)
        fail("setgroups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) < 0)
        fail("setresgid %u: %s", gid, strerror(errno));
    if (setresuid(uid, uid, uid) < 0)
        fail("setresuid %u: %s", uid, strerror(errno));
    // Changing every uid from 0 clears the capability sets; make sure it did.
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) < 0)
        fail("capget: %s", strerror(errno));
    if (data[0].effective || data[0].permitted || data[1].effective || data[1].permitted)
        fail("capabilities remain after the uid change");
}

static void no_new_privs(void) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("no_new_privs: %s", strerror(errno));
}

// The program's side of the fork: its descriptors, then exec. EXEC_FD reports a failed exec.
static void __attribute__((noreturn)) start_program(int exec_fd) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int highest = 2;
    for (int i = 0; i < ntaps; i++) {
        if (dup2(taps[i].fd, taps[i].target) < 0)
            _exit(126);
        if (taps[i].target > highest)
            highest = taps[i].target;
    }
    // Nothing else of the launcher's reaches the program (the exec pipe closes on exec).
    for (int fd = highest + 1; fd < 1024; fd++)
        if (fd != exec_fd)
            close(fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); // set after the uid change, which clears it
    envp[nenv] = NULL;
    execve(program[0], program, envp);
    int error = errno;
    if (write(exec_fd, &error, sizeof error) < 0) {
        // Nothing more to report with.
    }
    _exit(127);
}

// PID 1 of the jail: starts the program, then forwards signals and reaps until it exits.
static void __attribute__((noreturn)) run_init(void) {
    if (setsid() < 0)
        fail("setsid: %s", strerror(errno));
    if (root_dir != NULL)
        build_root();
    set_limit(RLIMIT_NOFILE, nofile, "RLIMIT_NOFILE");
    set_limit(RLIMIT_FSIZE, fsize, "RLIMIT_FSIZE");
    set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE"); // a core dump would hold guest memory
    if (have_uid) {
        drop_privileges();
        no_new_privs();
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
            fail("make the init non-dumpable: %s", strerror(errno));
    }

    sigset_t handled;
    sigemptyset(&handled);
    int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&handled, forwarded[i]);
    sigaddset(&handled, SIGCHLD);
    sigprocmask(SIG_BLOCK, &handled, NULL);

    int exec_pipe[2];
    if (pipe2(exec_pipe, O_CLOEXEC) < 0)
        fail("pipe: %s", strerror(errno));
    // Above the descriptors handed to the program, so that putting those in place cannot close it.
    for (int end = 0; end < 2; end++) {
        int high = fcntl(exec_pipe[end], F_DUPFD_CLOEXEC, FIRST_HIGH_FD + 50);
        if (high < 0)
            fail("dup: %s", strerror(errno));
        close(exec_pipe[end]);
        exec_pipe[end] = high;
    }
    pid_t child = fork();
    if (child < 0)
        fail("fork the program: %s", strerror(errno));
    if (child == 0) {
        close(exec_pipe[0]);
        start_program(exec_pipe[1]);
    }
    close(exec_pipe[1]);
    for (int i = 0; i < ntaps; i++)
        close(taps[i].fd);
    int error = 0;
    ssize_t got;
    do
        got = read(exec_pipe[0], &error, sizeof error);
    while (got < 0 && errno == EINTR);
    close(exec_pipe[0]);
    if (got > 0)
        fail("exec %s: %s", program[0], strerror(error));
    dprintf(status_fd, "ok\n");
    close(status_fd);
    status_fd = -1;

    for (;;) {
        siginfo_t info;
        int signal = sigwaitinfo(&handled, &info);
        if (signal < 0)
            continue;
        if (signal != SIGCHLD) {
            kill(child, signal);
            continue;
        }
        int status;
        pid_t ended;
        while ((ended = waitpid(-1, &status, WNOHANG)) > 0) {
            if (ended == child)
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}

// The host pid of the init's one child (the program), from /proc.
static pid_t program_pid(pid_t init) {
    char path[64], text[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", init, init);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0)
        return 0;
    text[got] = '\0';
    return (pid_t)strtol(text, NULL, 10);
}

int main(int argc, char **argv) {
    parse(argc, argv);
    check();

    int log_fd = -1;
    if (log_path != NULL && (log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
        fail("open the log %s: %s", log_path, strerror(errno));
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        fail("open /dev/null: %s", strerror(errno));

    if (netns_path != NULL) {
        int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
        if (ns < 0)
            fail("open the network namespace %s: %s", netns_path, strerror(errno));
        if (setns(ns, CLONE_NEWNET) < 0)
            fail("join the network namespace %s: %s", netns_path, strerror(errno));
        close(ns);
    }
    for (int i = 0; i < ntap_owners; i++) {
        if (!have_uid)
            fail("--tap-owner needs --uid and --gid");
        int fd = open_tap(tap_owners[i], IFF_TAP | IFF_NO_PI);
        if (ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0 || ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0)
            fail("give TAP device %s to uid %u: %s", tap_owners[i], uid, strerror(errno));
        close(fd);
    }
    for (int i = 0; i < ntaps; i++) {
        int fd = open_tap(taps[i].name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
        // Kept above the targets until the program's side of the fork puts it in place.
        if ((taps[i].fd = fcntl(fd, F_DUPFD_CLOEXEC, FIRST_HIGH_FD)) < 0)
            fail("dup: %s", strerror(errno));
        close(fd);
    }
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%d\n", getpid());
    for (int i = 0; i < ncgroups; i++) {
        char procs[PATH_MAX];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", cgroups[i]);
        write_file(procs, pid_text);
    }
    if (new_pid && unshare(CLONE_NEWPID) < 0)
        fail("unshare the PID namespace: %s", strerror(errno));

    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) < 0)
        fail("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t init = fork();
    if (init < 0)
        fail("fork the init: %s", strerror(errno));
    if (init == 0) {
        close(status_pipe[0]);
        status_fd = status_pipe[1];
        dup2(null_fd, 0);
        if (log_fd >= 0) {
            dup2(log_fd, 1);
            dup2(log_fd, 2);
        } else {
            dup2(null_fd, 1);
            dup2(null_fd, 2);
        }
        run_init();
    }
    close(status_pipe[1]);
    char answer[1100];
    size_t length = 0;
    ssize_t got;
    while (length < sizeof answer - 1 && (got = read(status_pipe[0], answer + length, sizeof answer - 1 - length)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        length += (size_t)got;
    }
    answer[length] = '\0';
    if (strncmp(answer, "ok\n", 3) != 0) {
        waitpid(init, NULL, 0);
        answer[strcspn(answer, "\n")] = '\0';
        fprintf(stderr, "wrenn-jail: %s\n", length > 7 ? answer + 7 : "the init ended before the program started");
        return 1;
    }
    pid_t started = program_pid(init);
    if (started <= 0) {
        fprintf(stderr, "wrenn-jail: %s ended as soon as it started%s%s\n", program[0], log_path ? "; see " : "", log_path ? log_path : "");
        return 1;
    }
    printf("%d %d\n", init, started);
    return 0;
}
