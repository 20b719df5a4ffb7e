// The VMM side of the uffd benchmark, and its baselines, each touching every page of a region once.
//   touch uffd SOCKET PAGES PAGE_SIZE [SEED]
//                                       register a region with userfaultfd, hand it to the page server,
//                                       touch every page in order (or shuffled by SEED, the same order
//                                       for the same seed), print per-access latencies (ns)
//   touch memcpy FILE PAGES PAGE_SIZE   read the file (page cache) into memory
//   touch mmap FILE PAGES PAGE_SIZE     map the file MAP_PRIVATE and touch every page
// Prints: total_ns, then (uffd) one latency per line.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) return 2;
    size_t pages = strtoull(argv[3], NULL, 10), page = strtoull(argv[4], NULL, 10), length = pages * page;
    volatile unsigned long sum = 0;
    if (!strcmp(argv[1], "memcpy")) {
        int fd = open(argv[2], O_RDONLY);
        char *buffer = malloc(length);
        long long start = now();
        size_t done = 0;
        while (done < length) { ssize_t n = read(fd, buffer + done, length - done); if (n <= 0) return 2; done += n; }
        for (size_t p = 0; p < pages; p++) sum += buffer[p * page];
        printf("%lld\n", now() - start);
        return 0;
    }
    if (!strcmp(argv[1], "mmap")) {
        int fd = open(argv[2], O_RDONLY);
        long long start = now();
        char *region = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        for (size_t p = 0; p < pages; p++) sum += region[p * page];
        printf("%lld\n", now() - start);
        return 0;
    }
    char *region = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    struct uffdio_api api = { .api = UFFD_API };
    struct uffdio_register reg = { .range = { .start = (unsigned long)region, .len = length }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) { perror("userfaultfd"); return 2; }
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strncpy(addr.sun_path, argv[2], sizeof addr.sun_path - 1);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr)) { perror("connect"); return 2; }
    char json[256];
    int n = snprintf(json, sizeof json, "[{\"base_host_virt_addr\":%lu,\"size\":%zu,\"offset\":0,\"page_size\":%zu}]", (unsigned long)region, length, page);
    struct iovec iov = { .iov_base = json, .iov_len = n };
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &uffd, sizeof(int));
    if (sendmsg(s, &msg, 0) != n) return 2;
    size_t *order = malloc(pages * sizeof *order);
    for (size_t p = 0; p < pages; p++) order[p] = p;
    if (argc == 6) {
        unsigned seed = strtoul(argv[5], NULL, 10);
        for (size_t i = pages - 1; i > 0; i--) { size_t j = rand_r(&seed) % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
    }
    long long *latency = malloc(pages * sizeof *latency);
    long long start = now();
    for (size_t k = 0; k < pages; k++) {
        long long t = now();
        sum += region[order[k] * page];
        latency[k] = now() - t;
    }
    printf("%lld\n", now() - start);
    for (size_t p = 0; p < pages; p++) printf("%lld\n", latency[p]);
    return 0;
}
