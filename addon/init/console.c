/* process.terminal: a pty made inside the container's devpts; the master goes to the
 * caller over the console socket (SCM_RIGHTS, runc's protocol), the slave becomes the
 * controlling terminal and stdio, and is bind mounted at /dev/console. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static void send_master(int sock, int master) {
  static const char name[] = "/dev/ptmx";
  if (send_fd(sock, name, sizeof name - 1, master) < 0) fail("console", errno, "send the pty master over the console socket");
}

static void bind_console(int ptn) {
  char slave_path[64];
  snprintf(slave_path, sizeof slave_path, "/dev/pts/%d", ptn);
  int fd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  else if (errno != EEXIST) fail("console", errno, "create /dev/console");
  if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0) fail("console", errno, "bind %s to /dev/console", slave_path);
}

void console_setup(struct plan *plan) {
  if (plan->console_fd < 0) return;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("console", errno, "open /dev/ptmx in the container");
  int unlock = 0, ptn = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail("console", errno, "unlock the pty");
  if (ioctl(master, TIOCGPTN, &ptn) < 0) fail("console", errno, "get the pty number");
  if (plan->console_rows && plan->console_cols) {
    struct winsize ws = {.ws_row = (unsigned short)plan->console_rows, .ws_col = (unsigned short)plan->console_cols};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) fail("console", errno, "set the console size");
  }
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail("console", errno, "open the pty slave");
  send_master(plan->console_fd, master);
  close(master);
  close(plan->console_fd);
  plan->console_fd = -1;
  if (plan->setup_rootfs) bind_console(ptn);
  if (setsid() < 0) fail("console", errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail("console", errno, "make the pty the controlling terminal");
  for (int i = 0; i < 3; i++) {
    if (dup2(slave, i) < 0) fail("console", errno, "dup the pty to fd %d", i);
  }
  close(slave);
}
