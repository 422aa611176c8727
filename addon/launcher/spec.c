/*
 * The group annotation from config.json, found the way shim/cli/address.ts finds it
 * with JSON.parse: the top-level object's last "annotations" member, and in it the
 * last value of each group key, if a non-empty string. Anything this small scanner
 * is not sure about (syntax errors, deep nesting, bytes that are not UTF-8) answers
 * "cannot tell", and the launcher leaves the decision to the JS shim.
 */
#include "launcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPEC (64u << 20)
#define MAX_DEPTH 512

struct cursor {
  const char *p;
  const char *end;
  int depth;
};

/* A growable byte string. */
struct str {
  char *data;
  size_t len, cap;
};

static int str_put(struct str *s, const char *bytes, size_t n) {
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    while (cap < s->len + n + 1) cap *= 2;
    char *d = realloc(s->data, cap);
    if (!d) return -1;
    s->data = d;
    s->cap = cap;
  }
  memcpy(s->data + s->len, bytes, n);
  s->len += n;
  s->data[s->len] = '\0';
  return 0;
}

static void ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char ch = p[i];
    v <<= 4;
    if (ch >= '0' && ch <= '9') v |= (unsigned)(ch - '0');
    else if (ch >= 'a' && ch <= 'f') v |= (unsigned)(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F') v |= (unsigned)(ch - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static int put_utf8(struct str *s, unsigned cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    b[0] = (char)(0xf0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return str_put(s, b, n);
}

/* Length of a valid UTF-8 sequence at p (non-ASCII lead), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0];
  size_t n;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if ((size_t)(end - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  return n;
}

/*
 * A JSON string at the cursor; decoded into `out` unless out is NULL. A lone
 * surrogate escape becomes U+FFFD, as Node encodes such a string to UTF-8.
 */
static int parse_string(struct cursor *c, struct str *out) {
  if (c->p >= c->end || *c->p != '"') return -1;
  c->p++;
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') {
      c->p++;
      return out && !out->data ? str_put(out, "", 0) : 0;
    }
    if (ch < 0x20) return -1;
    if (ch >= 0x80) {
      size_t n = utf8_len((const unsigned char *)c->p, (const unsigned char *)c->end);
      if (!n) return -1;
      if (out && str_put(out, c->p, n) < 0) return -1;
      c->p += n;
      continue;
    }
    if (ch != '\\') {
      if (out && str_put(out, c->p, 1) < 0) return -1;
      c->p++;
      continue;
    }
    if (c->end - c->p < 2) return -1;
    char esc = c->p[1];
    c->p += 2;
    const char *simple = strchr("\"\\/bfnrt", esc);
    if (esc && simple) {
      static const char decoded[] = "\"\\/\b\f\n\r\t";
      if (out && str_put(out, &decoded[simple - "\"\\/bfnrt"], 1) < 0) return -1;
      continue;
    }
    if (esc != 'u' || c->end - c->p < 4) return -1;
    unsigned cp;
    if (hex4(c->p, &cp) < 0) return -1;
    c->p += 4;
    if (cp >= 0xd800 && cp <= 0xdbff && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
      unsigned lo;
      if (hex4(c->p + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        c->p += 6;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (out && put_utf8(out, cp) < 0) return -1;
  }
  return -1;
}

static int skip_value(struct cursor *c);

static int skip_number(struct cursor *c) {
  const char *p = c->p;
  if (p < c->end && *p == '-') p++;
  if (p >= c->end) return -1;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9')
    while (p < c->end && *p >= '0' && *p <= '9') p++;
  else return -1;
  if (p < c->end && *p == '.') {
    p++;
    if (p >= c->end || *p < '0' || *p > '9') return -1;
    while (p < c->end && *p >= '0' && *p <= '9') p++;
  }
  if (p < c->end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < c->end && (*p == '+' || *p == '-')) p++;
    if (p >= c->end || *p < '0' || *p > '9') return -1;
    while (p < c->end && *p >= '0' && *p <= '9') p++;
  }
  c->p = p;
  return 0;
}

static int skip_literal(struct cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
  c->p += n;
  return 0;
}

/*
 * Walks an object's members, calling `member` for each key (decoded) with the
 * cursor on its value; `member` must consume the value.
 */
static int each_member(struct cursor *c, int (*member)(struct cursor *, const char *, void *), void *arg) {
  if (++c->depth > MAX_DEPTH) return -1;
  c->p++; /* '{' */
  ws(c);
  if (c->p < c->end && *c->p == '}') {
    c->p++;
    c->depth--;
    return 0;
  }
  for (;;) {
    struct str key = {0};
    ws(c);
    if (parse_string(c, &key) < 0) {
      free(key.data);
      return -1;
    }
    ws(c);
    if (c->p >= c->end || *c->p != ':') {
      free(key.data);
      return -1;
    }
    c->p++;
    ws(c);
    /* a key with a NUL cannot be one we look for; compare it as such */
    int rc = member(c, strlen(key.data) == key.len ? key.data : "", arg);
    free(key.data);
    if (rc < 0) return -1;
    ws(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    if (c->p < c->end && *c->p == '}') {
      c->p++;
      c->depth--;
      return 0;
    }
    return -1;
  }
}

static int skip_member(struct cursor *c, const char *key, void *arg) {
  (void)key;
  (void)arg;
  return skip_value(c);
}

static int skip_value(struct cursor *c) {
  ws(c);
  if (c->p >= c->end) return -1;
  switch (*c->p) {
    case '{':
      return each_member(c, skip_member, NULL);
    case '[':
      if (++c->depth > MAX_DEPTH) return -1;
      c->p++;
      ws(c);
      if (c->p < c->end && *c->p == ']') {
        c->p++;
        c->depth--;
        return 0;
      }
      for (;;) {
        if (skip_value(c) < 0) return -1;
        ws(c);
        if (c->p < c->end && *c->p == ',') {
          c->p++;
          continue;
        }
        if (c->p < c->end && *c->p == ']') {
          c->p++;
          c->depth--;
          return 0;
        }
        return -1;
      }
    case '"':
      return parse_string(c, NULL);
    case 't':
      return skip_literal(c, "true");
    case 'f':
      return skip_literal(c, "false");
    case 'n':
      return skip_literal(c, "null");
    default:
      return skip_number(c);
  }
}

struct groups {
  char *value[2]; /* GROUP_ANNOTATION_1, GROUP_ANNOTATION_2: last string value, or NULL */
};

static int annotation_member(struct cursor *c, const char *key, void *arg) {
  struct groups *g = arg;
  int slot = strcmp(key, GROUP_ANNOTATION_1) == 0 ? 0 : strcmp(key, GROUP_ANNOTATION_2) == 0 ? 1 : -1;
  if (slot < 0) return skip_value(c);
  free(g->value[slot]);
  g->value[slot] = NULL;
  if (c->p < c->end && *c->p == '"') {
    struct str s = {0};
    if (parse_string(c, &s) < 0) {
      free(s.data);
      return -1;
    }
    /* embedded NULs cannot be passed on; let the JS shim decide */
    if (strlen(s.data) != s.len) {
      free(s.data);
      return -1;
    }
    g->value[slot] = s.data;
    return 0;
  }
  return skip_value(c);
}

static int top_member(struct cursor *c, const char *key, void *arg) {
  struct groups *g = arg;
  if (strcmp(key, "annotations") != 0) return skip_value(c);
  /* a later "annotations" replaces an earlier one, as in JSON.parse */
  free(g->value[0]);
  free(g->value[1]);
  g->value[0] = g->value[1] = NULL;
  if (c->p < c->end && *c->p == '{') return each_member(c, annotation_member, g);
  return skip_value(c);
}

int group_annotation(const char *bundle, char **group) {
  *group = NULL;
  size_t plen = strlen(bundle) + sizeof "/config.json";
  char *path = malloc(plen);
  if (!path) return -1;
  snprintf(path, plen, "%s/config.json", bundle);
  size_t len;
  char *text = read_file(path, MAX_SPEC, &len);
  int err = errno;
  free(path);
  if (!text) return err == ENOENT ? 0 : -1;

  struct cursor c = {text, text + len, 0};
  struct groups g = {{NULL, NULL}};
  int rc = -1;
  ws(&c);
  if (c.p < c.end && *c.p == '{') {
    if (each_member(&c, top_member, &g) == 0) {
      ws(&c);
      if (c.p == c.end) rc = 0;
    }
  } else if (skip_value(&c) == 0) {
    ws(&c);
    if (c.p == c.end) rc = 0; /* valid JSON, not an object: no annotations */
  }
  free(text);
  if (rc == 0) {
    for (int i = 0; i < 2 && !*group; i++)
      if (g.value[i] && g.value[i][0]) {
        *group = g.value[i];
        g.value[i] = NULL;
      }
    rc = *group ? 1 : 0;
  }
  free(g.value[0]);
  free(g.value[1]);
  return rc;
}
