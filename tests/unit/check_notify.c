/* Check suite for src/notify.c: the sd_notify(3) addresses, the watchdog
 * period, and datagrams to a path and to an abstract socket. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "notify.h"
#include "test_suite.h"

START_TEST(a_path_address_counts_its_terminating_nul) {
  struct sockaddr_un addr;
  socklen_t len = 0;
  ck_assert_int_eq(pl__notify_address("/run/systemd/notify", &addr, &len), 0);
  ck_assert_int_eq(addr.sun_family, AF_UNIX);
  ck_assert_str_eq(addr.sun_path, "/run/systemd/notify");
  ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) +
                             strlen("/run/systemd/notify") + 1);
}
END_TEST

START_TEST(an_abstract_address_starts_with_nul_and_has_no_terminator) {
  struct sockaddr_un addr;
  socklen_t len = 0;
  ck_assert_int_eq(pl__notify_address("@sd-notify", &addr, &len), 0);
  ck_assert_int_eq(addr.sun_path[0], '\0');
  ck_assert_int_eq(memcmp(addr.sun_path + 1, "sd-notify", 9), 0);
  ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 10);
}
END_TEST

START_TEST(other_addresses_are_refused) {
  struct sockaddr_un addr;
  socklen_t len = 0;
  ck_assert_int_eq(pl__notify_address("", &addr, &len), PL_EINVAL);
  ck_assert_int_eq(pl__notify_address("@", &addr, &len), PL_EINVAL);
  ck_assert_int_eq(pl__notify_address("/", &addr, &len), PL_EINVAL);
  ck_assert_int_eq(pl__notify_address("run/notify", &addr, &len), PL_EINVAL);
  ck_assert_int_eq(pl__notify_address("vsock:2:1234", &addr, &len), PL_EINVAL);
  char longest[sizeof(addr.sun_path) + 1];
  memset(longest, 'a', sizeof(longest) - 1);
  longest[0] = '/';
  longest[sizeof(addr.sun_path) - 1] = '\0'; /* fits with its NUL */
  ck_assert_int_eq(pl__notify_address(longest, &addr, &len), 0);
  longest[sizeof(addr.sun_path) - 1] = 'a';
  longest[sizeof(addr.sun_path)] = '\0'; /* one too many */
  ck_assert_int_eq(pl__notify_address(longest, &addr, &len), PL_EINVAL);
  longest[0] = '@'; /* an abstract name has no NUL: it fits */
  longest[sizeof(addr.sun_path)] = '\0';
  ck_assert_int_eq(pl__notify_address(longest, &addr, &len), 0);
}
END_TEST

START_TEST(the_watchdog_is_for_this_process_only) {
  ck_assert_uint_eq(pl__notify_watchdog_usec("30000000", NULL, 42), 30000000);
  ck_assert_uint_eq(pl__notify_watchdog_usec("30000000", "42", 42), 30000000);
  ck_assert_uint_eq(pl__notify_watchdog_usec("30000000", "43", 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec("30000000", "x", 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec(NULL, NULL, 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec("0", NULL, 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec("-5", NULL, 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec("+5", NULL, 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec("5s", NULL, 42), 0);
  ck_assert_uint_eq(pl__notify_watchdog_usec("", NULL, 42), 0);
}
END_TEST

/* An environment of two variables for pl__notify_init. */
typedef struct fake_env {
  const char *notify_socket;
  const char *watchdog_usec;
} fake_env_t;

static const char *fake_getenv(void *data, const char *name) {
  const fake_env_t *env = data;
  if (strcmp(name, "NOTIFY_SOCKET") == 0)
    return env->notify_socket;
  if (strcmp(name, "WATCHDOG_USEC") == 0)
    return env->watchdog_usec;
  return NULL;
}

/* Binds a datagram socket to `name` (as NOTIFY_SOCKET writes it). */
static int bind_receiver(const char *name) {
  struct sockaddr_un addr;
  socklen_t len = 0;
  ck_assert_int_eq(pl__notify_address(name, &addr, &len), 0);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, len), 0);
  return fd;
}

static void expect_datagram(int fd, const char *text) {
  char got[256];
  ssize_t n = recv(fd, got, sizeof(got) - 1, 0);
  ck_assert_int_eq(n, (ssize_t)strlen(text));
  got[n] = '\0';
  ck_assert_str_eq(got, text);
}

static void sends_to(const char *name) {
  int receiver = bind_receiver(name);
  fake_env_t values = {.notify_socket = name, .watchdog_usec = "2000000"};
  pl_env_t env = {.getenv = fake_getenv, .data = &values};
  pl_notify_t notify;
  ck_assert_int_eq(pl__notify_init(&notify, &env, getpid(), NULL), 0);
  ck_assert_int_ge(notify.fd, 0);
  ck_assert_uint_eq(notify.watchdog_usec, 2000000);
  ck_assert_int_eq(pl__notify_send(&notify, "READY=1\nSTATUS=running"), 0);
  ck_assert_int_eq(pl__notify_send(&notify, "STOPPING=1"), 0);
  expect_datagram(receiver, "READY=1\nSTATUS=running");
  expect_datagram(receiver, "STOPPING=1");
  pl__notify_close(&notify);
  ck_assert_int_eq(notify.fd, -1);
  close(receiver);
}

START_TEST(messages_reach_a_path_socket) {
  char dir[] = "/tmp/check_notify.XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[64];
  snprintf(path, sizeof(path), "%s/notify", dir);
  sends_to(path);
  unlink(path);
  rmdir(dir);
}
END_TEST

START_TEST(messages_reach_an_abstract_socket) {
  char name[64];
  snprintf(name, sizeof(name), "@check_notify-%ld", (long)getpid());
  sends_to(name);
}
END_TEST

START_TEST(without_notify_socket_nothing_is_sent) {
  fake_env_t values = {.watchdog_usec = "2000000"};
  pl_env_t env = {.getenv = fake_getenv, .data = &values};
  pl_notify_t notify;
  ck_assert_int_eq(pl__notify_init(&notify, &env, getpid(), NULL), 0);
  ck_assert_int_eq(notify.fd, -1);
  ck_assert_uint_eq(notify.watchdog_usec, 0);
  ck_assert_int_eq(pl__notify_send(&notify, "READY=1"), 0);
  pl__notify_close(&notify);
  ck_assert_int_eq(pl__notify_init(&notify, NULL, getpid(), NULL), 0);
  ck_assert_int_eq(notify.fd, -1);
  values.notify_socket = "relative";
  const char *error = NULL;
  ck_assert_int_eq(pl__notify_init(&notify, &env, getpid(), &error), PL_EINVAL);
  ck_assert_int_eq(notify.fd, -1);
  ck_assert_ptr_nonnull(error);
}
END_TEST

START_TEST(a_send_to_nobody_fails_without_blocking) {
  fake_env_t values = {.notify_socket = "@check_notify-nobody-listens"};
  pl_env_t env = {.getenv = fake_getenv, .data = &values};
  pl_notify_t notify;
  ck_assert_int_eq(pl__notify_init(&notify, &env, getpid(), NULL), 0);
  ck_assert_int_eq(pl__notify_send(&notify, "READY=1"), PL_EIO);
  pl__notify_close(&notify);
}
END_TEST

int main(void) {
  Suite *s = suite_create("notify");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_path_address_counts_its_terminating_nul);
  tcase_add_test(tc, an_abstract_address_starts_with_nul_and_has_no_terminator);
  tcase_add_test(tc, other_addresses_are_refused);
  tcase_add_test(tc, the_watchdog_is_for_this_process_only);
  tcase_add_test(tc, messages_reach_a_path_socket);
  tcase_add_test(tc, messages_reach_an_abstract_socket);
  tcase_add_test(tc, without_notify_socket_nothing_is_sent);
  tcase_add_test(tc, a_send_to_nobody_fails_without_blocking);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
