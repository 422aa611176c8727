/*
 * The grouping policy in force (hutch's configuration file, `shim.group`), without
 * parsing JSON or YAML here: the JS `start` resolves the file and leaves its answer
 * in <state root>/shim-grouping together with the file's identity (path, device,
 * inode, size, mtime). The launcher trusts that answer only while the file is the
 * same; a new or edited file, or two candidate files, go to the JS shim, which reads
 * it (and complains about it) properly. No file at all: the default, `auto`.
 */
#include "launcher.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const CONFIG_NAMES[] = {"config.json", "config.yaml", "config.yml"};

const char *state_root(void) {
  const char *root = getenv(SHIM_ROOT_ENV);
  return root && root[0] ? root : DEFAULT_SHIM_ROOT;
}

/* 1: *path is the configuration file; 0: none; -1: cannot tell (let the JS shim decide). */
static int config_file(char *path, size_t size) {
  const char *explicit = getenv(CONFIG_ENV);
  if (explicit && explicit[0]) {
    if (explicit[0] != '/') return -1; /* relative to what: the JS shim resolves it */
    return snprintf(path, size, "%s", explicit) < (int)size ? 1 : -1;
  }
  int found = 0;
  for (size_t i = 0; i < sizeof CONFIG_NAMES / sizeof *CONFIG_NAMES; i++) {
    char candidate[PATH_MAX];
    snprintf(candidate, sizeof candidate, "%s/%s", CONFIG_DIR, CONFIG_NAMES[i]);
    if (access(candidate, F_OK) == 0) {
      if (found++) return -1; /* two files: the JS shim names the conflict */
      snprintf(path, size, "%s", candidate);
    } else if (errno != ENOENT && errno != ENOTDIR) {
      return -1;
    }
  }
  return found;
}

int grouping_policy(void) {
  char file[PATH_MAX];
  int has = config_file(file, sizeof file);
  if (has <= 0) return has == 0 ? GROUP_AUTO : -1;
  struct stat st;
  if (stat(file, &st) < 0) return -1;
  char cache[PATH_MAX];
  if (snprintf(cache, sizeof cache, "%s/%s", state_root(), GROUPING_CACHE) >= (int)sizeof cache) return -1;
  size_t len;
  char *text = read_file(cache, 2 * PATH_MAX, &len);
  if (!text) return -1;
  char expect[PATH_MAX + 128];
  int n = snprintf(expect, sizeof expect, "%s\n%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", file, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                   (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
  int policy = -1;
  if (n > 0 && (size_t)n < sizeof expect && len > (size_t)n && memcmp(text, expect, (size_t)n) == 0) {
    const char *word = text + n;
    if (strcmp(word, "container\n") == 0) policy = GROUP_CONTAINER;
    else if (strcmp(word, "pod\n") == 0) policy = GROUP_POD;
    else if (strcmp(word, "namespace\n") == 0) policy = GROUP_NAMESPACE;
    else if (strcmp(word, "auto\n") == 0) policy = GROUP_AUTO;
  }
  free(text);
  return policy;
}
