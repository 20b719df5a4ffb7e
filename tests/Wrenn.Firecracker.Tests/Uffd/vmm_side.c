// Plays the VMM's side of the userfaultfd handshake, as Firecracker does it: maps guest memory,
// registers it with userfaultfd, connects to the page server's socket and sends the region
// mappings (JSON) with the userfaultfd (SCM_RIGHTS); then touches every page in a random order
// from several threads (or in order: ORDER "inorder") and compares each with the expected content;
// with "hold" it then waits for its stdin to close before exiting (a paused VM still holding its memory).
// Usage: vmm_side SOCKET EXPECTED_FILE PAGES PAGE_SIZE THREADS [shuffled|inorder] [hold]
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static char *region, *expected;
static size_t pages, page_size;
static int mismatches, in_order;

struct worker { unsigned seed; };

static void *touch(void *arg) {
    struct worker *w = arg;
    size_t *order = malloc(pages * sizeof *order);
    for (size_t i = 0; i < pages; i++) order[i] = i;
    for (size_t i = pages - 1; i > 0 && !in_order; i--) {          // Fisher-Yates with the thread's own seed
        size_t j = rand_r(&w->seed) % (i + 1);
        size_t t = order[i]; order[i] = order[j]; order[j] = t;
    }
    for (size_t k = 0; k < pages; k++) {
        size_t p = order[k];
        if (memcmp(region + p * page_size, expected + p * page_size, page_size) != 0) {
            fprintf(stderr, "page %zu differs from the expected content\n", p);
            __atomic_add_fetch(&mismatches, 1, __ATOMIC_SEQ_CST);
        }
    }
    free(order);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 8) { fprintf(stderr, "usage: vmm_side SOCKET EXPECTED PAGES PAGE_SIZE THREADS [shuffled|inorder] [hold]\n"); return 2; }
    in_order = argc >= 7 && !strcmp(argv[6], "inorder");
    int hold = argc == 8 && !strcmp(argv[7], "hold");
    pages = strtoull(argv[3], NULL, 10);
    page_size = strtoull(argv[4], NULL, 10);
    int threads = atoi(argv[5]);
    size_t length = pages * page_size;

    FILE *f = fopen(argv[2], "rb");
    expected = malloc(length);
    if (!f || fread(expected, 1, length, f) != length) { perror("expected content"); return 2; }
    fclose(f);

    region = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (region == MAP_FAILED || uffd < 0) { perror("mmap/userfaultfd"); return 2; }
    struct uffdio_api api = { .api = UFFD_API };
    struct uffdio_register reg = { .range = { .start = (unsigned long)region, .len = length }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) { perror("UFFDIO_API/REGISTER"); return 2; }

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr)) { perror("connect"); return 2; }
    char json[256];
    int n = snprintf(json, sizeof json, "[{\"base_host_virt_addr\":%lu,\"size\":%zu,\"offset\":0,\"page_size\":%zu}]",
                     (unsigned long)region, length, page_size);
    struct iovec iov = { .iov_base = json, .iov_len = n };
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &uffd, sizeof(int));
    if (sendmsg(s, &msg, 0) != n) { perror("sendmsg"); return 2; }

    pthread_t ids[64];
    struct worker workers[64];
    for (int t = 0; t < threads; t++) { workers[t].seed = 1234 + t; pthread_create(&ids[t], NULL, touch, &workers[t]); }
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    printf("checked %zu pages from %d threads, %d mismatches\n", pages, threads, mismatches);
    fflush(stdout);
    if (hold) { char c; while (read(0, &c, 1) > 0) {} }
    return mismatches == 0 ? 0 : 1;
}
