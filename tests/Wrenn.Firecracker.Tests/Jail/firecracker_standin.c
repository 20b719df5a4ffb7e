// A STAND-IN for the firecracker binary, which cannot be had on this machine: the vmm-firecracker
// plugin starts it in its jail exactly as it would start the real one. It takes --api-sock PATH
// (and --id, ignored), answers the API as a well-behaved Firecracker would (204 to PUT and PATCH,
// 200 with the instance's description to GET), writes the files a PUT /snapshot/create names (as
// the jailed process, so the test sees where it could write), and prints each request line on
// stdout (the console log), so the test sees the calls it got.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// Writes a file named by "key":"value" in the body, if the body has the key.
static void touch_named(const char *body, const char *key) {
    char pattern[64], path[512];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *at = strstr(body, pattern);
    if (at == NULL)
        return;
    at += strlen(pattern);
    size_t length = strcspn(at, "\"");
    if (length >= sizeof path)
        return;
    memcpy(path, at, length);
    path[length] = '\0';
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        printf("cannot write %s\n", path);
        return;
    }
    fputs("stand-in snapshot\n", file);
    fclose(file);
}

static void serve(int client) {
    static char buffer[1 << 16];
    size_t have = 0;
    for (;;) {
        char *end;
        while ((end = memmem(buffer, have, "\r\n\r\n", 4)) == NULL) {
            ssize_t got = read(client, buffer + have, sizeof buffer - 1 - have);
            if (got <= 0)
                return;
            have += (size_t)got;
        }
        size_t header_length = (size_t)(end - buffer) + 4;
        buffer[header_length - 1] = '\0';
        size_t body_length = 0;
        char *length = strcasestr(buffer, "content-length:");
        if (length != NULL)
            body_length = strtoul(length + 15, NULL, 10);
        while (have < header_length + body_length) {
            ssize_t got = read(client, buffer + have, sizeof buffer - 1 - have);
            if (got <= 0)
                return;
            have += (size_t)got;
        }
        char method[16] = "", path[256] = "";
        sscanf(buffer, "%15s %255s", method, path);
        char body[1 << 15];
        size_t copy = body_length < sizeof body - 1 ? body_length : sizeof body - 1;
        memcpy(body, buffer + header_length, copy);
        body[copy] = '\0';
        printf("%s %s\n", method, path);
        fflush(stdout);
        if (strcmp(path, "/snapshot/create") == 0) {
            touch_named(body, "snapshot_path");
            touch_named(body, "mem_file_path");
            fflush(stdout);
        }
        const char *answer;
        char ok[512];
        if (strcmp(method, "GET") == 0) {
            const char *json = "{\"app_name\":\"Firecracker\",\"id\":\"stand-in\",\"state\":\"Running\",\"vmm_version\":\"stand-in\"}";
            snprintf(ok, sizeof ok, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(json), json);
            answer = ok;
        } else {
            answer = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        }
        if (write(client, answer, strlen(answer)) < 0)
            return;
        memmove(buffer, buffer + header_length + body_length, have - header_length - body_length);
        have -= header_length + body_length;
    }
}

int main(int argc, char **argv) {
    const char *socket_path = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--api-sock") == 0)
            socket_path = argv[i + 1];
    if (socket_path == NULL) {
        fprintf(stderr, "usage: firecracker --api-sock PATH [--id ID]\n");
        return 2;
    }
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path);
    if (bind(server, (struct sockaddr *)&address, sizeof address) < 0 || listen(server, 8) < 0) {
        perror("api socket");
        return 1;
    }
    signal(SIGCHLD, SIG_IGN); // no zombies
    for (;;) {
        int client = accept(server, NULL, NULL);
        if (client < 0)
            continue;
        if (fork() == 0) {
            close(server);
            serve(client);
            _exit(0);
        }
        close(client);
    }
}
