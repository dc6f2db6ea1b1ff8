/*
 * ops-step: runs the first attempt of a shell step on an SSH host, as the shell wrapper in
 * activities/remote-step.ts does, in one program instead of five (sh, two tee, setsid, timeout):
 *
 *   ops-step KEY TIMEOUT_SECONDS plain|script [sudo]   (the script on stdin)
 *   ops-step --version
 *
 * It writes the same records under ~/.ops/steps/KEY (.script .sid .out .err .exit), so a retry,
 * run by the wrapper, replays or attaches to what this started. The script runs in its own session
 * (its pid is the session id, so a cancel kills it all); its stdout and stderr go to the channel
 * and to the files, and a closed channel stops only the former; after TIMEOUT_SECONDS its process
 * group gets TERM, then KILL 5 s later (exit status 124, or 137 when KILL was needed), as with
 * `timeout -k 5`. Under sudo, `sudo -n timeout` runs the script and enforces the timeout as root.
 * The first thing it writes is the control line "helper" on stderr: the worker tells by it that
 * the helper started (else the host's shell could not run it, and nothing ran).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CTL "\036ops:"
#define MAX_WORDS 1024

static int child_exited[2];

static void ctl(const char *event) {
  char line[64];
  int n = snprintf(line, sizeof line, CTL "%s\n", event);
  (void)!write(2, line, n);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= w;
  }
  return 0;
}

static void record(const char *base, const char *ext, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s%s", base, ext);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  write_all(fd, text, strlen(text));
  close(fd);
}

/* The first executable `name` on PATH, as `command -v` finds it. */
static int look_path(const char *name, char *out, size_t size) {
  const char *p = getenv("PATH");
  if (!p) p = "/usr/bin:/bin";
  for (;;) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    struct stat st;
    snprintf(out, size, "%.*s/%s", (int)len, len ? p : ".", name);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 1;
    if (!end) return 0;
    p = end + 1;
  }
}

/* A plain command runs without bash only where the system installed it (remote-step.ts: isPlainCommand). */
static int in_system_dir(const char *path) {
  static const char *dirs[] = {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"};
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    size_t n = strlen(dirs[i]);
    if (strncmp(path, dirs[i], n) == 0 && !strchr(path + n, '/')) return 1;
  }
  return 0;
}

static void on_child(int sig) {
  (void)sig;
  int e = errno;
  (void)!write(child_exited[1], "x", 1);
  errno = e;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static char *read_stdin(size_t *len) {
  size_t cap = 65536;
  char *data = malloc(cap + 1);
  *len = 0;
  for (;;) {
    if (!data) return NULL;
    if (*len == cap) data = realloc(data, (cap *= 2) + 1);
    if (!data) return NULL;
    ssize_t r = read(0, data + *len, cap - *len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return NULL;
    if (r == 0) break;
    *len += r;
  }
  data[*len] = 0;
  return data;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts("ops-step 1");
    return 0;
  }
  if (argc < 4) {
    fputs("usage: ops-step KEY TIMEOUT_SECONDS plain|script [sudo]\n", stderr);
    return 2;
  }
  /* A closed channel must not end the step: writes to it fail instead. */
  signal(SIGPIPE, SIG_IGN);
  ctl("helper");
  const char *key = argv[1], *timeout_text = argv[2];
  long timeout = strtol(timeout_text, NULL, 10);
  int plain = strcmp(argv[3], "plain") == 0;
  int sudo = argc > 4 && strcmp(argv[4], "sudo") == 0;
  umask(077);

  const char *home = getenv("HOME");
  char dir[3000], base[3500], script_path[4096];
  snprintf(dir, sizeof dir, "%s/.ops", home ? home : ".");
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/.ops/steps", home ? home : ".");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return 255;
  snprintf(base, sizeof base, "%s/%s", dir, key);
  snprintf(script_path, sizeof script_path, "%s.script", base);

  size_t len;
  char *script = read_stdin(&len);
  if (!script) {
    ctl("interrupted");
    return 255;
  }
  /* The script file is the step's claim: an attempt that finds one leaves the step to the wrapper. */
  int fd = open(script_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    ctl("recorded");
    return 255;
  }
  if (write_all(fd, script, len) != 0 || close(fd) != 0) {
    ctl("interrupted");
    return 255;
  }

  char *first = script, *newline = strchr(script, '\n');
  if (newline) *newline = 0;
  char *args[MAX_WORDS + 16];
  int n = 0;
  if (sudo) {
    const char *prefix[] = {"sudo", "-n", "timeout", "-k", "5", timeout_text};
    for (int i = 0; i < 6; i++) args[n++] = (char *)prefix[i];
  }
  static char program[4096];
  int found = 0;
  if (strncmp(first, "#!", 2) == 0) {
    chmod(script_path, 0700);
    snprintf(program, sizeof program, "%s", script_path);
    args[n++] = script_path;
    found = 1;
  } else if (plain && *first) {
    char *name = strndup(first, strcspn(first, " "));
    if (name && look_path(name, program, sizeof program) && in_system_dir(program)) {
      for (char *w = strtok(first, " "); w && n < MAX_WORDS; w = strtok(NULL, " ")) args[n++] = w;
      found = 1;
    }
    free(name);
  }
  if (!found) {
    if (look_path("bash", program, sizeof program)) {
      const char *bash[] = {"bash", "--noprofile", "--norc", "-eo", "pipefail"};
      for (int i = 0; i < 5; i++) args[n++] = (char *)bash[i];
    } else {
      snprintf(program, sizeof program, "/bin/sh");
      args[n++] = "sh";
      args[n++] = "-e";
    }
    args[n++] = script_path;
  }
  args[n] = NULL;

  char out_path[4096], err_path[4096];
  snprintf(out_path, sizeof out_path, "%s.out", base);
  snprintf(err_path, sizeof err_path, "%s.err", base);
  int files[2] = {open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)};
  int out_pipe[2], err_pipe[2];
  if (files[0] < 0 || files[1] < 0 || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC) || pipe2(child_exited, O_CLOEXEC | O_NONBLOCK)) {
    ctl("interrupted");
    return 255;
  }
  signal(SIGCHLD, on_child);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    if (sudo) execvp(args[0], args);
    else execv(program, args);
    dprintf(2, "ops-step: cannot run %s: %s\n", sudo ? args[0] : program, strerror(errno));
    _exit(127);
  }
  if (pid < 0) {
    ctl("interrupted");
    return 255;
  }
  char text[32];
  snprintf(text, sizeof text, "%d\n", pid);
  record(base, ".sid", text);
  close(out_pipe[1]);
  close(err_pipe[1]);

  struct pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {child_exited[0], POLLIN, 0}};
  int channel[2] = {1, 2}, live[2] = {1, 1};
  int status_code = -1, timed_out = 0, open_pipes = 2;
  long long deadline = sudo ? -1 : now_ms() + timeout * 1000LL, kill_at = -1;
  static char buf[65536];
  /* Until the script has exited and nothing holds its output open (a background process may). */
  while (open_pipes > 0 || status_code < 0) {
    int wait_ms = -1;
    long long t = now_ms();
    long long next = status_code >= 0 ? -1 : kill_at >= 0 ? kill_at : deadline;
    if (next >= 0) wait_ms = next > t ? (int)(next - t) : 0;
    if (poll(fds, 3, wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_pipes--;
        continue;
      }
      write_all(files[i], buf, r);
      if (live[i] && write_all(channel[i], buf, r) != 0) live[i] = 0;
    }
    if (fds[2].revents & POLLIN) {
      char drain[64];
      while (read(child_exited[0], drain, sizeof drain) > 0) {
      }
    }
    if (status_code >= 0) continue;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      status_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (timed_out) status_code = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 137 : 124;
      snprintf(text, sizeof text, "%d\n", status_code);
      record(base, ".exit", text);
      continue;
    }
    t = now_ms();
    if (deadline >= 0 && t >= deadline) {
      timed_out = 1;
      kill(-pid, SIGTERM);
      deadline = -1;
      kill_at = t + 5000;
    } else if (kill_at >= 0 && t >= kill_at) {
      kill(-pid, SIGKILL);
      kill_at = -1;
    }
  }
  /* The script may hold secrets. */
  close(open(script_path, O_WRONLY | O_TRUNC | O_CLOEXEC));
  return status_code < 0 ? 255 : status_code;
}
