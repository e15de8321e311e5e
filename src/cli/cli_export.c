/*
 * cli_export.c: `vmon export NAME FILE` and `vmon import FILE`: a managed VM
 * as one portable archive, recreated on another host.
 *
 * The archive is a pax tar (libarchive) whose members, in order, are
 *   manifest.json   format version, VM name, its configuration (the run flags
 *                   and, for a snapshot, the live VM's GET /vm/config), the
 *                   snapshot's lineage id and generation, and every member
 *                   that follows: name, role, size, BLAKE2b-256 checksum and
 *                   (for files the configuration names) the exporting host's path
 *   manifest.auth   "blake2b-256 HEX" of manifest.json, or with --key FILE
 *                   "hmac-sha512-256 HEX" (libsodium crypto_auth under that key)
 *   the members     disk images; for a paused or running VM the snapshot's
 *                   state file and memory file; for a stopped one its kernel
 *                   and initrd (it has nothing to resume: it boots again)
 * Disks and memory are streamed in 1 MiB chunks, their holes (SEEK_HOLE)
 * kept as pax sparse entries. Export reads each member twice (checksums for
 * the manifest first, then the archive, checked against the first pass), a
 * live VM paused for both so disks and snapshot agree.
 *
 * Import verifies before it creates: the manifest against its auth line,
 * every member against the manifest (nothing missing, extra, short or
 * changed), the state file's own checksums and that its lineage and
 * generation are the manifest's, and the rollback rule against this host's
 * store (read-only). Only then are the files placed and the VM made:
 * the state file's configuration gets the new disk paths and the file is
 * sealed again under this host's key (the exporter's key is not here, and
 * the archive's checksums, not that MAC, vouched for it), then `vmon
 * restore`'s path loads it (cli_restore_files), which applies the rollback
 * rule again with its audit log. A stopped VM becomes a stopped entry
 * (meta.json, state.json) whose run flags name the placed files.
 *
 * Owns: the archive format and both commands. Does not own: the snapshot
 * (the VM process writes and loads it), the state file format
 * (snapshot/snapfile.h), the lineage store (snapshot/lineage.h).
 * Threads: the CLI's one.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_impl.h"
#include "cli/client.h"
#include "snapshot/lineage.h"
#include "snapshot/snapfile.h"

#define EX_VERSION 1
#define EX_FORMAT "vmon-archive"
#define EX_MANIFEST "manifest.json"
#define EX_AUTH "manifest.auth"
#define EX_MAX_MEMBERS 12          /* 6 disks, kernel, initrd, state, memory */
#define EX_MAX_DISKS 6             /* vmon run's --disk limit */
#define EX_MANIFEST_MAX (1u << 20) /* a manifest is a few KiB */
#define EX_AUTH_MAX 256
#define EX_SUM_LEN 32 /* BLAKE2b-256 */
#define EX_CHUNK (1u << 20)
#define EX_PROGRESS (64ull << 20) /* a progress line every 64 MiB on a terminal */

static const uint8_t ex_zeros[64 << 10];

static const char help_export[] =
	"Usage: vmon export NAME FILE [--key KEYFILE] [--force]\n"
	"\n"
	"Write managed VM NAME as one archive FILE (a pax tar): manifest.json (format\n"
	"version, name, configuration, each member's size and BLAKE2b checksum, the\n"
	"snapshot's lineage and generation), manifest.auth, then the members.\n"
	"A running or paused VM: a full snapshot (its state and memory files) and a\n"
	"copy of each disk, all taken while the VM is paused; a running VM is resumed\n"
	"afterwards. A stopped VM: its disks, kernel and initrd only (it boots again).\n"
	"Holes in disks and memory stay holes. Progress and the total time go to stderr.\n"
	"\n"
	"  --key KEYFILE  authenticate the manifest with this 32-byte key (libsodium\n"
	"                 crypto_auth; make one with `head -c 32 /dev/urandom >K;\n"
	"                 chmod 600 K`); without it the manifest carries a checksum,\n"
	"                 which finds damage but not a deliberate edit\n"
	"  --force        replace FILE if it exists (else refused)\n"
	"\n"
	"FILE appears whole or not at all (written as FILE.tmp-PID, then renamed).\n"
	"Exit status: 0 written, 1 failure (nothing left behind; a VM this command\n"
	"paused is resumed), 2 usage error.\n";

static const char help_import[] =
	"Usage: vmon import FILE [--name NAME] [--dir DIR] [--key KEYFILE]\n"
	"                        [--allow-rollback] [--paused]\n"
	"\n"
	"Recreate the VM archived in FILE (`vmon export`) on this host. Everything is\n"
	"verified first: the manifest (its checksum, or with --key its MAC), every\n"
	"member's size and checksum, nothing missing, extra or truncated, and the\n"
	"rollback rule; any failure is refused with the reason and creates nothing.\n"
	"The files go into the VM's directory (STATE_ROOT/NAME) or DIR, the disk paths\n"
	"in the configuration are rewritten to them. An archive with a snapshot is\n"
	"restored as `vmon restore` does (the state file is sealed again under this\n"
	"host's key first: the exporting host's key is not here); one without becomes\n"
	"a stopped VM whose run flags `vmon inspect NAME` shows.\n"
	"\n"
	"  --name NAME       the new VM's name (default: the archived one)\n"
	"  --dir DIR         put the VM's files in DIR (created 0700) instead\n"
	"  --key KEYFILE     the key the archive was exported with; an archive made\n"
	"                    with a key is refused without it, and one without a key\n"
	"                    is refused with it\n"
	"  --allow-rollback  import a generation older than the newest this host has\n"
	"                    seen of the VM's lineage (audited as by `vmon restore`)\n"
	"  --paused          leave the restored VM paused\n"
	"\n"
	"Exit status: 0 imported, 1 failure, 2 usage error.\n";

struct ex_member {
	char name[96];	     /* in the archive */
	char role[8];	     /* disk, kernel, initrd, state, memory */
	char path[PATH_MAX]; /* export: the source; import: the staged file */
	char orig[PATH_MAX]; /* disk/kernel/initrd: the exporting host's path */
	char dest[PATH_MAX]; /* import: where it goes */
	uint64_t size;
	uint8_t sum[EX_SUM_LEN];
};

struct ex_job {
	const char *cmd;
	struct ex_member m[EX_MAX_MEMBERS];
	int n;
	uint8_t key[crypto_auth_KEYBYTES];
	int has_key;
	int tty;
	uint64_t bytes; /* logical bytes streamed, for the summary */
};

static double ex_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ex_hex(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

/* The 32-byte key in path: a regular file only its owner can read. */
static int ex_load_key(const char *cmd, const char *path, struct ex_job *j)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		cli_err(cmd, "--key %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_FAIL;
	}
	if (!S_ISREG(st.st_mode) || st.st_mode & 077) {
		cli_err(cmd, "--key %s: must be a regular file readable by its owner only (chmod 600)",
			path);
		close(fd);
		return CLI_FAIL;
	}
	n = read(fd, j->key, sizeof(j->key));
	close(fd);
	if (n != (ssize_t)sizeof(j->key) || st.st_size != (off_t)sizeof(j->key)) {
		cli_err(cmd, "--key %s: want exactly %zu bytes, it has %lld", path, sizeof(j->key),
			(long long)st.st_size);
		return CLI_FAIL;
	}
	j->has_key = 1;
	return 0;
}

/* The auth line of a manifest: a checksum, or a MAC under the job's key. */
static void ex_auth_line(const struct ex_job *j, const char *man, size_t len, char *out, size_t cap)
{
	uint8_t t[crypto_auth_BYTES > EX_SUM_LEN ? crypto_auth_BYTES : EX_SUM_LEN];
	char hex[2 * sizeof(t) + 1];

	if (j->has_key) {
		crypto_auth(t, (const uint8_t *)man, len, j->key);
		ex_hex(t, crypto_auth_BYTES, hex);
		snprintf(out, cap, "hmac-sha512-256 %s\n", hex);
	} else {
		crypto_generichash(t, EX_SUM_LEN, (const uint8_t *)man, len, NULL, 0);
		ex_hex(t, EX_SUM_LEN, hex);
		snprintf(out, cap, "blake2b-256 %s\n", hex);
	}
}

/* ------------------------------------------------------------------ export */

/* The data extents of fd (SEEK_DATA/SEEK_HOLE), as offset/length pairs; one extent without support. */
static int ex_extents(int fd, off_t size, off_t **out, int *n)
{
	off_t *v = NULL, pos = 0;
	int cap = 0;

	*n = 0;
	while (pos < size) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break; /* the rest is a hole */
		if (d < 0) {
			d = pos; /* no SEEK_DATA here: all data */
			h = size;
		} else {
			h = lseek(fd, d, SEEK_HOLE);
			if (h < 0 || h > size)
				h = size;
		}
		if (*n + 1 > cap) {
			off_t *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 16) * 2 * sizeof(off_t));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[2 * *n] = d;
		v[2 * *n + 1] = h - d;
		(*n)++;
		pos = h;
	}
	*out = v;
	return 0;
}

/* Feed len logical bytes to the hash and, when a, to the archive (zeros: a hole libarchive skips). */
static int ex_feed(struct ex_job *j, struct archive *a, crypto_generichash_state *h,
		   const uint8_t *p, size_t len)
{
	crypto_generichash_update(h, p, len);
	if (a && archive_write_data(a, p, len) != (la_ssize_t)len) {
		cli_err(j->cmd, "writing the archive: %s", archive_error_string(a));
		return CLI_FAIL;
	}
	return 0;
}

static void ex_progress(struct ex_job *j, const struct ex_member *m, uint64_t done, uint64_t *next)
{
	if (!j->tty || done < *next)
		return;
	fprintf(stderr, "\r  %s: %llu of %llu MiB", m->name, (unsigned long long)(done >> 20),
		(unsigned long long)(m->size >> 20));
	*next = done + EX_PROGRESS;
}

/* Zeros for a hole of len bytes. */
static int ex_hole(struct ex_job *j, struct archive *a, crypto_generichash_state *h, uint64_t len)
{
	while (len) {
		size_t k = len < sizeof(ex_zeros) ? (size_t)len : sizeof(ex_zeros);

		if (ex_feed(j, a, h, ex_zeros, k))
			return CLI_FAIL;
		len -= k;
	}
	return 0;
}

/*
 * One pass over member m's file: without a, its size and checksum into m;
 * with a, its archive entry (sparse map from its holes) and data, whose
 * checksum must equal the first pass's (the file did not change).
 */
static int ex_pass(struct ex_job *j, struct ex_member *m, struct archive *a, uint8_t *buf)
{
	crypto_generichash_state h;
	uint8_t sum[EX_SUM_LEN];
	uint64_t pos = 0, next = EX_PROGRESS;
	struct archive_entry *e = NULL;
	off_t *ext = NULL;
	struct stat st;
	int fd, n = 0, ret = CLI_FAIL;

	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		cli_err(j->cmd, "%s: %s", m->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_err(j->cmd, "%s: not a regular file", m->path);
		goto out;
	}
	if (a && (uint64_t)st.st_size != m->size) {
		cli_err(j->cmd, "%s changed size while it was exported", m->path);
		goto out;
	}
	if (ex_extents(fd, st.st_size, &ext, &n)) {
		cli_err(j->cmd, "%s: out of memory", m->path);
		goto out;
	}
	if (a) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, m->name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, st.st_size);
		archive_entry_set_mtime(e, time(NULL), 0);
		/* Holes: a sparse map of the data extents (one extent covering all is a plain file). */
		if (!(n == 1 && ext[0] == 0 && ext[1] == st.st_size)) {
			for (int i = 0; i < n; i++)
				archive_entry_sparse_add_entry(e, ext[2 * i], ext[2 * i + 1]);
			if (!n || ext[2 * (n - 1)] + ext[2 * n - 1] < st.st_size)
				archive_entry_sparse_add_entry(e, st.st_size, 0);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK) {
			cli_err(j->cmd, "writing the archive: %s", archive_error_string(a));
			goto out;
		}
	}
	crypto_generichash_init(&h, NULL, 0, EX_SUM_LEN);
	for (int i = 0; i <= n; i++) {
		uint64_t d = i < n ? (uint64_t)ext[2 * i] : (uint64_t)st.st_size;
		uint64_t end = i < n ? d + (uint64_t)ext[2 * i + 1] : d;

		if (ex_hole(j, a, &h, d - pos))
			goto out;
		for (pos = d; pos < end;) {
			size_t k = end - pos < EX_CHUNK ? (size_t)(end - pos) : EX_CHUNK;
			ssize_t r = pread(fd, buf, k, (off_t)pos);

			if (r <= 0) {
				cli_err(j->cmd, "%s: %s", m->path, r < 0 ? strerror(errno) : "shrank");
				goto out;
			}
			if (ex_feed(j, a, &h, buf, (size_t)r))
				goto out;
			pos += (uint64_t)r;
			ex_progress(j, m, pos, &next);
		}
	}
	crypto_generichash_final(&h, sum, sizeof(sum));
	if (!a) {
		m->size = (uint64_t)st.st_size;
		memcpy(m->sum, sum, sizeof(sum));
	} else if (sodium_memcmp(sum, m->sum, sizeof(sum))) {
		cli_err(j->cmd, "%s changed while it was exported (checksum differs from the first read)",
			m->path);
		goto out;
	} else {
		j->bytes += m->size;
		if (j->tty && m->size >= EX_PROGRESS)
			fputc('\n', stderr);
		fprintf(stderr, "  %-24s %10llu bytes, %d data extent%s\n", m->name,
			(unsigned long long)m->size, n, n == 1 ? "" : "s");
	}
	ret = 0;
out:
	if (e)
		archive_entry_free(e);
	free(ext);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int ex_add(struct ex_job *j, const char *role, const char *path, const char *orig)
{
	struct ex_member *m;
	const char *base = strrchr(path, '/');
	int disks = 0;

	for (int i = 0; i < j->n; i++)
		disks += !strcmp(j->m[i].role, "disk");
	if (j->n == EX_MAX_MEMBERS) {
		cli_err(j->cmd, "too many files to archive");
		return CLI_FAIL;
	}
	m = &j->m[j->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->role, sizeof(m->role), "%s", role);
	snprintf(m->path, sizeof(m->path), "%s", path);
	snprintf(m->orig, sizeof(m->orig), "%s", orig ? orig : "");
	base = base ? base + 1 : path;
	if (!strcmp(role, "disk"))
		snprintf(m->name, sizeof(m->name), "disk%d-%.80s", disks, base);
	else if (!strcmp(role, "kernel") || !strcmp(role, "initrd"))
		snprintf(m->name, sizeof(m->name), "%s-%.80s", role, base);
	else
		snprintf(m->name, sizeof(m->name), "snapshot.%s", role);
	return 0;
}

/* The value of a path-carrying run flag at argv[*i] ("-k P", "-kP", "--kernel P", "--kernel=P"). */
static const char *ex_path_flag(struct json_object *argv, size_t *i, const char **role)
{
	static const struct {
		char s;
		const char *l, *role;
	} flags[] = { { 'k', "--kernel", "kernel" }, { 'i', "--initrd", "initrd" },
		      { 0, "--disk", "disk" } };
	const char *a = json_object_get_string(json_object_array_get_idx(argv, *i));
	size_t n = json_object_array_length(argv);

	for (size_t f = 0; a && f < sizeof(flags) / sizeof(flags[0]); f++) {
		size_t ll = strlen(flags[f].l);

		*role = flags[f].role;
		if (flags[f].s && a[0] == '-' && a[1] == flags[f].s)
			return a[2] ? a + 2 : *i + 1 < n ? json_object_get_string(json_object_array_get_idx(argv, ++*i)) : NULL;
		if (!strncmp(a, flags[f].l, ll) && a[ll] == '=')
			return a + ll + 1;
		if (!strcmp(a, flags[f].l))
			return *i + 1 < n ? json_object_get_string(json_object_array_get_idx(argv, ++*i))
					  : NULL;
	}
	return NULL;
}

/* The run flags of meta.json's argv (after "vmon run --state-dir D --name N", no --ttl). */
static struct json_object *ex_run_flags(const struct state_entry *e)
{
	struct json_object *argv = NULL, *out = json_object_new_array();
	size_t n;

	if (e->has_meta)
		json_object_object_get_ex(e->meta.root, "argv", &argv);
	n = argv ? json_object_array_length(argv) : 0;
	for (size_t i = 6; i < n; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(argv, i));

		if (a && !strcmp(a, "--ttl")) {
			i++;
			continue;
		}
		json_object_array_add(out, json_object_new_string(a ? a : ""));
	}
	return out;
}

/* A stopped VM's files: the disks, kernel and initrd its run flags name. */
static int ex_stopped_files(struct ex_job *j, struct json_object *flags)
{
	size_t n = json_object_array_length(flags);

	for (size_t i = 0; i < n; i++) {
		const char *role, *v = ex_path_flag(flags, &i, &role);
		char path[PATH_MAX];
		const char *comma;

		if (!v)
			continue;
		comma = !strcmp(role, "disk") ? strchr(v, ',') : NULL;
		snprintf(path, sizeof(path), "%.*s", comma ? (int)(comma - v) : (int)strlen(v), v);
		if (ex_add(j, role, path, path))
			return CLI_FAIL;
	}
	return 0;
}

/* A live VM's disks, as its GET /vm/config names them. */
static int ex_live_disks(struct ex_job *j, struct json_object *cfg)
{
	struct json_object *drives, *p;

	if (!json_object_object_get_ex(cfg, "drives", &drives))
		return 0;
	for (size_t i = 0; i < json_object_array_length(drives); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(drives, i), "path_on_host", &p) &&
		    ex_add(j, "disk", json_object_get_string(p), json_object_get_string(p)))
			return CLI_FAIL;
	return 0;
}

static char *ex_manifest(const struct ex_job *j, const struct state_entry *e,
			 struct json_object *config, const struct snapfile *snap)
{
	struct json_object *o = json_object_new_object(), *mem = json_object_new_array(), *s;
	char hex[2 * EX_SUM_LEN + 1];
	char *text;

	json_object_object_add(o, "format", json_object_new_string(EX_FORMAT));
	json_object_object_add(o, "version", json_object_new_int(EX_VERSION));
	json_object_object_add(o, "name", json_object_new_string(e->name));
	json_object_object_add(o, "created", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "config", json_object_get(config));
	if (snap) {
		s = json_object_new_object();
		lineage_hex(snap->lineage, hex);
		json_object_object_add(s, "lineage", json_object_new_string(hex));
		json_object_object_add(s, "generation", json_object_new_int64((int64_t)snap->generation));
		json_object_object_add(o, "snapshot", s);
	} else {
		json_object_object_add(o, "snapshot", NULL);
	}
	for (int i = 0; i < j->n; i++) {
		const struct ex_member *m = &j->m[i];

		s = json_object_new_object();
		json_object_object_add(s, "name", json_object_new_string(m->name));
		json_object_object_add(s, "role", json_object_new_string(m->role));
		json_object_object_add(s, "size", json_object_new_int64((int64_t)m->size));
		ex_hex(m->sum, EX_SUM_LEN, hex);
		json_object_object_add(s, "blake2b", json_object_new_string(hex));
		if (m->orig[0])
			json_object_object_add(s, "orig", json_object_new_string(m->orig));
		json_object_array_add(mem, s);
	}
	json_object_object_add(o, "members", mem);
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

static int ex_write_small(struct ex_job *j, struct archive *a, const char *name, const char *text)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = strlen(text);
	int ret = 0;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, text, len) != (la_ssize_t)len) {
		cli_err(j->cmd, "writing the archive: %s", archive_error_string(a));
		ret = CLI_FAIL;
	}
	archive_entry_free(e);
	return ret;
}

/* The archive into tmp: manifest, auth, members (second pass). */
static int ex_write(struct ex_job *j, const char *tmp, const char *manifest, uint8_t *buf)
{
	char auth[EX_AUTH_MAX];
	struct archive *a = archive_write_new();
	int fd, ret = CLI_FAIL;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_err(j->cmd, "cannot create %s: %s", tmp, strerror(errno));
		archive_write_free(a);
		return CLI_FAIL;
	}
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		cli_err(j->cmd, "libarchive: %s", a ? archive_error_string(a) : "out of memory");
		goto out;
	}
	ex_auth_line(j, manifest, strlen(manifest), auth, sizeof(auth));
	if (ex_write_small(j, a, EX_MANIFEST, manifest) || ex_write_small(j, a, EX_AUTH, auth))
		goto out;
	for (int i = 0; i < j->n; i++)
		if (ex_pass(j, &j->m[i], a, buf))
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		cli_err(j->cmd, "writing the archive: %s", archive_error_string(a));
		goto out;
	}
	if (fsync(fd)) {
		cli_err(j->cmd, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	archive_write_free(a);
	close(fd);
	return ret;
}

/* GET /vm/config of a live VM, parsed. */
static struct json_object *ex_vm_config(const char *cmd, const char *name, const char *sock)
{
	struct json_object *o;
	char *body = NULL;

	if (cli_snap_api(cmd, name, sock, "GET", "/vm/config", NULL, &body))
		return NULL;
	o = json_tokener_parse(body);
	free(body);
	if (!o)
		cli_err(cmd, "%s: GET /vm/config is not JSON", name);
	return o;
}

/* Snapshot a paused VM into dir (dir/state, dir/memory) and read its header into f. */
static int ex_snapshot(struct ex_job *j, const char *name, const char *sock, const char *dir,
		       struct snapfile *f)
{
	char state[PATH_MAX], mem[PATH_MAX], err[256], *body;
	struct json_object *o = json_object_new_object();
	uint8_t *buf;
	size_t len;
	int ret;

	snprintf(state, sizeof(state), "%.4000s/state", dir);
	snprintf(mem, sizeof(mem), "%.4000s/memory", dir);
	json_object_object_add(o, "snapshot_type", json_object_new_string("Full"));
	json_object_object_add(o, "snapshot_path", json_object_new_string(state));
	json_object_object_add(o, "mem_file_path", json_object_new_string(mem));
	body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	ret = body ? cli_snap_api(j->cmd, name, sock, "PUT", "/snapshot/create", body, NULL)
		   : CLI_FAIL;
	free(body);
	if (ret)
		return ret;
	ret = snapfile_read_path(state, &buf, &len);
	if (ret) {
		cli_err(j->cmd, "%s: %s", state, strerror(-ret));
		return CLI_FAIL;
	}
	ret = snapfile_parse(buf, len, NULL, f, err, sizeof(err));
	free(buf); /* only the header's fields are used */
	if (ret) {
		cli_err(j->cmd, "%s: %s", state, err);
		return CLI_FAIL;
	}
	if (ex_add(j, "state", state, NULL) || ex_add(j, "memory", mem, NULL))
		return CLI_FAIL;
	return 0;
}

struct ex_args {
	const char *pos[2];
	int npos;
	const char *name, *dir, *key;
	int force, allow_rollback, paused;
};

static int ex_parse(const char *cmd, int argc, char **argv, int import, struct ex_args *a)
{
	const char *val;
	int missing;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if ((val = cli_opt_value(argc, argv, &i, "--key", &missing))) {
			a->key = val;
			continue;
		}
		if (!missing && import && (val = cli_opt_value(argc, argv, &i, "--name", &missing))) {
			a->name = val;
			continue;
		}
		if (!missing && import && (val = cli_opt_value(argc, argv, &i, "--dir", &missing))) {
			a->dir = val;
			continue;
		}
		if (missing)
			return cli_usage(cmd, "option '%s' needs a value", argv[i]);
		if (!import && !strcmp(argv[i], "--force"))
			a->force = 1;
		else if (import && !strcmp(argv[i], "--allow-rollback"))
			a->allow_rollback = 1;
		else if (import && !strcmp(argv[i], "--paused"))
			a->paused = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage(cmd, "unknown option '%s'", argv[i]);
		else if (a->npos == (import ? 1 : 2))
			return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
		else
			a->pos[a->npos++] = argv[i];
	}
	if (!import && a->npos < 2)
		return cli_usage(cmd, a->npos ? "missing FILE" : "missing NAME and FILE");
	if (import && !a->npos)
		return cli_usage(cmd, "missing FILE");
	if (import && a->name && !state_name_valid(a->name))
		return cli_usage(cmd, "'%s' is not a valid VM name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})",
				 a->name);
	return 0;
}

/* The members (first pass), the manifest and the archive (second pass), renamed to file. */
static int ex_archive(struct ex_job *j, const struct state_entry *e, struct json_object *config,
		      const struct snapfile *snap, const char *file)
{
	char tmp[PATH_MAX];
	uint8_t *buf = malloc(EX_CHUNK);
	char *manifest = NULL;
	int ret = CLI_FAIL;

	if (!buf || (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", file, (int)getpid()) >=
			    sizeof(tmp)) {
		cli_err(j->cmd, "%s: %s", file, buf ? "path too long" : "out of memory");
		goto out;
	}
	for (int i = 0; i < j->n; i++)
		if (ex_pass(j, &j->m[i], NULL, buf))
			goto out;
	manifest = ex_manifest(j, e, config, snap);
	if (!manifest)
		goto out;
	if (ex_write(j, tmp, manifest, buf)) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, file)) {
		cli_err(j->cmd, "cannot rename %s to %s: %s", tmp, file, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(manifest);
	free(buf);
	return ret;
}

/* A stage directory for the snapshot beside file (absolute: the VM process has its own cwd). */
static int ex_stage_beside(const char *cmd, const char *file, char *stage)
{
	char dir[PATH_MAX], abs[PATH_MAX];
	const char *slash = strrchr(file, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	if (!realpath(dir, abs)) {
		cli_err(cmd, "%s: %s", dir, strerror(errno));
		return CLI_FAIL;
	}
	snprintf(stage, PATH_MAX, "%.4000s/.vmon-export-XXXXXX", abs);
	if (!mkdtemp(stage)) {
		cli_err(cmd, "cannot create a directory in %s: %s", abs, strerror(errno));
		return CLI_FAIL;
	}
	return 0;
}

int cli_export(int argc, char **argv)
{
	char root[STATE_PATH_MAX], sock[STATE_PATH_MAX + 16], st[32], stage[PATH_MAX] = "";
	struct json_object *config = NULL, *vmcfg = NULL;
	struct snapfile *snap = NULL;
	struct state_entry e;
	struct ex_job *j;
	struct ex_args a;
	struct stat sb;
	double t0 = ex_now();
	int ret, live, paused_here = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(help_export, stdout);
		return CLI_OK;
	}
	ret = ex_parse("export", argc, argv, 0, &a);
	if (ret)
		return ret;
	j = calloc(1, sizeof(*j));
	if (!j || sodium_init() < 0)
		return free(j), CLI_FAIL;
	j->cmd = "export";
	j->tty = isatty(2);
	if (a.key && (ret = ex_load_key("export", a.key, j)))
		return free(j), ret;
	if (!a.force && !lstat(a.pos[1], &sb)) {
		cli_err("export", "%s exists (--force replaces it)", a.pos[1]);
		return free(j), CLI_FAIL;
	}
	ret = cli_load("export", a.pos[0], root, &e);
	if (ret)
		return free(j), ret;
	live = state_status_live(e.status);
	if (!live && e.status != STATE_STOPPED && e.status != STATE_STALE) {
		cli_err("export", "%s is %s: nothing to export yet", e.name, state_status_name(e.status));
		ret = CLI_FAIL;
		goto out;
	}
	config = json_object_new_object();
	json_object_object_add(config, "argv", ex_run_flags(&e));
	json_object_object_add(config, "vcpus", json_object_new_int((int)e.meta.vcpus));
	json_object_object_add(config, "mem_mib", json_object_new_int64((int64_t)e.meta.mem_mib));
	if (live) {
		snprintf(sock, sizeof(sock), "%s/api.sock", e.dir);
		ret = cli_snap_vm_state("export", e.name, sock, st, sizeof(st));
		if (!ret && strcmp(st, "Running") && strcmp(st, "Paused")) {
			cli_err("export", "%s has no VM to export yet (%s)", e.name, st);
			ret = CLI_FAIL;
		}
		if (!ret && !strcmp(st, "Running")) {
			ret = cli_snap_api("export", e.name, sock, "PATCH", "/vm",
					   "{\"state\":\"Paused\"}", NULL);
			paused_here = !ret;
		}
		if (!ret && !(vmcfg = ex_vm_config("export", e.name, sock)))
			ret = CLI_FAIL;
		if (!ret) {
			json_object_object_add(config, "vm_config", json_object_get(vmcfg));
			ret = ex_live_disks(j, vmcfg);
		}
		snap = ret ? NULL : calloc(1, sizeof(*snap));
		if (!ret && (!snap || ex_stage_beside("export", a.pos[1], stage)))
			ret = CLI_FAIL;
		if (!ret)
			ret = ex_snapshot(j, e.name, sock, stage, snap);
	} else {
		json_object_object_add(config, "vm_config", NULL);
		ret = ex_stopped_files(j, json_object_object_get(config, "argv"));
	}
	if (!ret) {
		fprintf(stderr, "vmon: export: %s (%s) to %s:\n", e.name,
			live ? "snapshot and disks" : "stopped: configuration, disks, kernel", a.pos[1]);
		ret = ex_archive(j, &e, config, snap, a.pos[1]);
	}
	if (paused_here &&
	    cli_snap_api("export", e.name, sock, "PATCH", "/vm", "{\"state\":\"Resumed\"}", NULL)) {
		cli_err("export", "%s stays paused", e.name);
		ret = CLI_FAIL;
	}
	if (!ret) {
		double t = ex_now() - t0;

		fprintf(stderr, "vmon: export: %llu bytes in %d members in %.2f s\n",
			(unsigned long long)j->bytes, j->n + 2, t);
		printf("%s: exported to %s%s%s\n", e.name, a.pos[1],
		       snap ? " with a snapshot" : " (stopped: no snapshot)",
		       paused_here ? "; the VM was resumed" : "");
	}
out:
	if (stage[0])
		state_rmtree(stage);
	free(snap);
	json_object_put(vmcfg);
	json_object_put(config);
	state_entry_free(&e);
	sodium_memzero(j->key, sizeof(j->key));
	free(j);
	return ret;
}

/* ------------------------------------------------------------------ import */

struct im_ctx {
	struct ex_job j;
	struct json_object *man;
	const char *file;
	char name[STATE_NAME_MAX];
	char stage[PATH_MAX];
	char dest[PATH_MAX]; /* where the files go: DIR or the VM's directory */
	int has_snap;
	uint8_t lineage[SNAPFILE_LINEAGE_LEN];
	uint64_t generation;
	int placed; /* members moved to dest (undone on failure when dest is --dir) */
};

/* A whole small member (the manifest, its auth line) into a NUL-terminated buffer. */
static int im_small(struct im_ctx *c, struct archive *a, struct archive_entry *e, const char *want,
		    size_t max, char **out)
{
	la_int64_t size = archive_entry_size(e);
	char *buf;
	la_ssize_t r;
	size_t got = 0;

	if (strcmp(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", want)) {
		cli_err(c->j.cmd, "%s: not a vmon archive (member '%s' where %s belongs)", c->file,
			archive_entry_pathname(e) ? archive_entry_pathname(e) : "?", want);
		return CLI_FAIL;
	}
	if (size <= 0 || (uint64_t)size > max) {
		cli_err(c->j.cmd, "%s: %s of %lld bytes (at most %zu)", c->file, want,
			(long long)size, max);
		return CLI_FAIL;
	}
	buf = malloc((size_t)size + 1);
	if (!buf)
		return CLI_FAIL;
	while (got < (size_t)size && (r = archive_read_data(a, buf + got, (size_t)size - got)) > 0)
		got += (size_t)r;
	if (got != (size_t)size) {
		cli_err(c->j.cmd, "%s: %s: %s", c->file, want,
			archive_error_string(a) ? archive_error_string(a) : "truncated");
		free(buf);
		return CLI_FAIL;
	}
	buf[got] = 0;
	*out = buf;
	return 0;
}

static int im_hexbin(const char *hex, uint8_t *out, size_t n)
{
	size_t len;

	return hex && strlen(hex) == 2 * n && !sodium_hex2bin(out, n, hex, 2 * n, NULL, &len, NULL) &&
			       len == n ? 0 : -EINVAL;
}

/* The manifest against its auth line: a checksum, or with a key a MAC. */
static int im_auth(struct im_ctx *c, const char *man, const char *auth)
{
	char want[EX_AUTH_MAX];
	int keyed = !strncmp(auth, "hmac-sha512-256 ", 16);

	if (keyed && !c->j.has_key) {
		cli_err(c->j.cmd, "%s: the archive is authenticated with a key: pass --key KEYFILE",
			c->file);
		return CLI_FAIL;
	}
	if (!keyed && c->j.has_key && !strncmp(auth, "blake2b-256 ", 12)) {
		cli_err(c->j.cmd, "%s: the archive is not authenticated (exported without --key), "
				  "but --key was given: refused", c->file);
		return CLI_FAIL;
	}
	ex_auth_line(&c->j, man, strlen(man), want, sizeof(want));
	if (strlen(auth) != strlen(want) || sodium_memcmp(auth, want, strlen(want))) {
		cli_err(c->j.cmd, "%s: the manifest does not match its %s (%s): refused", c->file,
			keyed ? "MAC" : "checksum",
			keyed ? "tampered, or another key" : "damaged or tampered");
		return CLI_FAIL;
	}
	if (!keyed)
		fprintf(stderr, "vmon: import: %s has no MAC (exported without --key): its checksums "
				"find damage, not a deliberate edit\n", c->file);
	return 0;
}

static const char *im_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int im_member_ok(const char *name)
{
	if (!name[0] || name[0] == '.' || strlen(name) >= sizeof(((struct ex_member *)0)->name))
		return 0;
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
		    !strchr("._-", *p))
			return 0;
	return 1;
}

/* The manifest's fields into c: members (name, role, size, sum, orig), snapshot header. */
static int im_manifest(struct im_ctx *c, const char *text)
{
	struct json_object *v, *mem, *snap;
	int roles[5] = { 0 };
	static const char *const rn[5] = { "disk", "kernel", "initrd", "state", "memory" };
	static const int rmax[5] = { EX_MAX_DISKS, 1, 1, 1, 1 };
	const char *s;

	c->man = json_tokener_parse(text);
	if (!c->man || !json_object_is_type(c->man, json_type_object) ||
	    strcmp(im_str(c->man, "format") ? im_str(c->man, "format") : "", EX_FORMAT))
		return cli_err(c->j.cmd, "%s: the manifest is not a vmon archive's", c->file), CLI_FAIL;
	if (!json_object_object_get_ex(c->man, "version", &v) || json_object_get_int(v) != EX_VERSION)
		return cli_err(c->j.cmd, "%s: archive format version %s; this vmon reads version %d",
			       c->file, v ? json_object_get_string(v) : "(none)", EX_VERSION),
		       CLI_FAIL;
	if (!json_object_object_get_ex(c->man, "members", &mem) ||
	    !json_object_is_type(mem, json_type_array) ||
	    json_object_array_length(mem) > EX_MAX_MEMBERS)
		return cli_err(c->j.cmd, "%s: the manifest's member list is missing or too long",
			       c->file), CLI_FAIL;
	for (size_t i = 0; i < json_object_array_length(mem); i++) {
		struct json_object *o = json_object_array_get_idx(mem, i), *sz;
		struct ex_member *m = &c->j.m[c->j.n];
		const char *name = im_str(o, "name"), *role = im_str(o, "role");
		int r;

		for (r = 0; r < 5 && role && strcmp(role, rn[r]); r++)
			;
		if (!name || !im_member_ok(name) || r == 5 || ++roles[r] > rmax[r] ||
		    !json_object_object_get_ex(o, "size", &sz) || json_object_get_int64(sz) < 0 ||
		    im_hexbin(im_str(o, "blake2b"), m->sum, EX_SUM_LEN))
			return cli_err(c->j.cmd, "%s: manifest member %zu is malformed", c->file, i),
			       CLI_FAIL;
		for (int k = 0; k < c->j.n; k++)
			if (!strcmp(c->j.m[k].name, name))
				return cli_err(c->j.cmd, "%s: member '%s' twice", c->file, name),
				       CLI_FAIL;
		snprintf(m->name, sizeof(m->name), "%s", name);
		snprintf(m->role, sizeof(m->role), "%s", role);
		snprintf(m->orig, sizeof(m->orig), "%s", im_str(o, "orig") ? im_str(o, "orig") : "");
		m->size = (uint64_t)json_object_get_int64(sz);
		c->j.n++;
	}
	json_object_object_get_ex(c->man, "snapshot", &snap);
	c->has_snap = snap != NULL;
	if (c->has_snap != (roles[3] == 1) || roles[3] != roles[4])
		return cli_err(c->j.cmd, "%s: the manifest's snapshot and members disagree", c->file),
		       CLI_FAIL;
	if (c->has_snap) {
		if (im_hexbin(im_str(snap, "lineage"), c->lineage, SNAPFILE_LINEAGE_LEN) ||
		    !json_object_object_get_ex(snap, "generation", &v))
			return cli_err(c->j.cmd, "%s: the manifest's snapshot is malformed", c->file),
			       CLI_FAIL;
		c->generation = (uint64_t)json_object_get_int64(v);
	}
	s = im_str(c->man, "name");
	if (!c->name[0]) {
		if (!s || !state_name_valid(s))
			return cli_err(c->j.cmd, "%s: the archived name is not valid here: pass --name",
				       c->file), CLI_FAIL;
		snprintf(c->name, sizeof(c->name), "%s", s);
	}
	return 0;
}

/* One member's data into its staged file, checked against the manifest. */
static int im_member(struct im_ctx *c, struct archive *a, struct archive_entry *e,
		     struct ex_member *m)
{
	crypto_generichash_state h;
	uint8_t sum[EX_SUM_LEN];
	const void *p;
	size_t len;
	la_int64_t off;
	uint64_t pos = 0;
	int fd, r, ret = CLI_FAIL;
	const char *pn = archive_entry_pathname(e);

	if (strcmp(pn ? pn : "", m->name) || archive_entry_filetype(e) != AE_IFREG) {
		cli_err(c->j.cmd, "%s: member '%s' where the manifest has '%s'", c->file, pn ? pn : "?",
			m->name);
		return CLI_FAIL;
	}
	if ((uint64_t)archive_entry_size(e) != m->size) {
		cli_err(c->j.cmd, "%s: %s has %lld bytes, the manifest says %llu", c->file, m->name,
			(long long)archive_entry_size(e), (unsigned long long)m->size);
		return CLI_FAIL;
	}
	{
		char path[PATH_MAX]; /* m is inside c: no snprintf from c->stage into it directly */

		snprintf(path, sizeof(path), "%.3900s/%s", c->stage, m->name);
		memcpy(m->path, path, sizeof(path));
	}
	fd = open(m->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_err(c->j.cmd, "cannot create %s: %s", m->path, strerror(errno));
		return CLI_FAIL;
	}
	crypto_generichash_init(&h, NULL, 0, EX_SUM_LEN);
	while ((r = archive_read_data_block(a, &p, &len, &off)) == ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off < pos || len > m->size || (uint64_t)off > m->size - len) {
			cli_err(c->j.cmd, "%s: %s: data block at %lld outside its %llu bytes", c->file,
				m->name, (long long)off, (unsigned long long)m->size);
			goto out;
		}
		for (uint64_t z = (uint64_t)off - pos; z;) { /* a hole: zeros */
			size_t k = z < sizeof(ex_zeros) ? (size_t)z : sizeof(ex_zeros);

			crypto_generichash_update(&h, ex_zeros, k);
			z -= k;
		}
		crypto_generichash_update(&h, p, len);
		if (len && pwrite(fd, p, len, off) != (ssize_t)len) {
			cli_err(c->j.cmd, "%s: %s", m->path, strerror(errno));
			goto out;
		}
		pos = (uint64_t)off + len;
	}
	if (r != ARCHIVE_EOF) {
		cli_err(c->j.cmd, "%s: %s: %s (truncated or damaged archive)", c->file, m->name,
			archive_error_string(a) ? archive_error_string(a) : "read error");
		goto out;
	}
	for (uint64_t z = m->size - pos; z;) {
		size_t k = z < sizeof(ex_zeros) ? (size_t)z : sizeof(ex_zeros);

		crypto_generichash_update(&h, ex_zeros, k);
		z -= k;
	}
	crypto_generichash_final(&h, sum, sizeof(sum));
	if (sodium_memcmp(sum, m->sum, sizeof(sum))) {
		cli_err(c->j.cmd, "%s: %s: checksum mismatch (damaged or tampered archive): refused",
			c->file, m->name);
		goto out;
	}
	if (ftruncate(fd, (off_t)m->size) || fsync(fd)) {
		cli_err(c->j.cmd, "%s: %s", m->path, strerror(errno));
		goto out;
	}
	c->j.bytes += m->size;
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Open the archive and read its first two members: the manifest, verified, into c. */
static struct archive *im_open(struct im_ctx *c)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *man = NULL, *auth = NULL;
	int ok = 0;

	if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_filename(a, c->file, 64 << 10) != ARCHIVE_OK) {
		cli_err(c->j.cmd, "%s: %s", c->file, a ? archive_error_string(a) : "out of memory");
		goto out;
	}
	if (archive_read_next_header(a, &e) != ARCHIVE_OK) {
		cli_err(c->j.cmd, "%s: not a vmon archive (%s)", c->file,
			archive_error_string(a) ? archive_error_string(a) : "empty");
		goto out;
	}
	if (im_small(c, a, e, EX_MANIFEST, EX_MANIFEST_MAX, &man))
		goto out;
	if (archive_read_next_header(a, &e) != ARCHIVE_OK) {
		cli_err(c->j.cmd, "%s: no %s after the manifest (%s): truncated or not a vmon archive",
			c->file, EX_AUTH, archive_error_string(a) ? archive_error_string(a) : "ends");
		goto out;
	}
	ok = !im_small(c, a, e, EX_AUTH, EX_AUTH_MAX, &auth) && !im_auth(c, man, auth) &&
	     !im_manifest(c, man);
out:
	free(man);
	free(auth);
	if (!ok && a) {
		archive_read_free(a);
		a = NULL;
	}
	return a;
}

/* The members, in the manifest's order, into the stage directory; then the archive's end. */
static int im_members(struct im_ctx *c, struct archive *a)
{
	struct archive_entry *e;
	int r;

	for (int i = 0; i < c->j.n; i++) {
		r = archive_read_next_header(a, &e);
		if (r != ARCHIVE_OK) {
			cli_err(c->j.cmd, "%s: member %s missing (%s): truncated or damaged archive",
				c->file, c->j.m[i].name,
				r == ARCHIVE_EOF ? "the archive ends"
				: archive_error_string(a) ? archive_error_string(a) : "?");
			return CLI_FAIL;
		}
		if (im_member(c, a, e, &c->j.m[i]))
			return CLI_FAIL;
	}
	r = archive_read_next_header(a, &e);
	if (r != ARCHIVE_EOF) {
		cli_err(c->j.cmd, "%s: %s after the last member: refused", c->file,
			r == ARCHIVE_OK ? "an extra member" : archive_error_string(a));
		return CLI_FAIL;
	}
	return 0;
}

static struct ex_member *im_role(struct im_ctx *c, const char *role)
{
	for (int i = 0; i < c->j.n; i++)
		if (!strcmp(c->j.m[i].role, role))
			return &c->j.m[i];
	return NULL;
}

/* The member that came from orig on the exporting host, or NULL. */
static const struct ex_member *im_orig(const struct im_ctx *c, const char *orig)
{
	for (int i = 0; orig && i < c->j.n; i++)
		if (c->j.m[i].orig[0] && !strcmp(c->j.m[i].orig, orig))
			return &c->j.m[i];
	return NULL;
}

/* The rule of lineage.h, read-only (the VM's load applies it again and audits an override). */
static int im_rollback(struct im_ctx *c, const char *store, int allow)
{
	char hex[2 * SNAPFILE_LINEAGE_LEN + 1];
	uint64_t newest = 0;
	int ret = lineage_newest(store, c->lineage, &newest);

	if (ret) {
		cli_err(c->j.cmd, "%s: the lineage store: %s", store, strerror(-ret));
		return CLI_FAIL;
	}
	if (c->generation < newest && !allow) {
		lineage_hex(c->lineage, hex);
		cli_err(c->j.cmd, "%s: refusing generation %llu of lineage %s: this host's newest "
				  "generation is %llu (pass --allow-rollback to import it anyway; "
				  "it is audited)", c->file, (unsigned long long)c->generation, hex,
			(unsigned long long)newest);
		return CLI_FAIL;
	}
	return 0;
}

/*
 * The staged state file: checked (structure, checksums, lineage and
 * generation as the manifest says), its drives pointed at their new
 * places, sealed under this host's key.
 */
static int im_reseal(struct im_ctx *c, const char *store)
{
	struct ex_member *st = im_role(c, "state");
	uint8_t key[SNAPFILE_KEY_LEN], *buf = NULL;
	struct json_object *cfg = NULL, *drives, *p;
	const struct snapfile_section *sec;
	struct snap_out out;
	struct snapfile *f = calloc(1, sizeof(*f));
	char err[256];
	const char *text;
	size_t len;
	int ret = CLI_FAIL;

	snap_out_init(&out);
	if (!f || snapfile_read_path(st->path, &buf, &len)) {
		cli_err(c->j.cmd, "%s: cannot read the staged state file", st->path);
		goto out;
	}
	if (snapfile_parse(buf, len, NULL, f, err, sizeof(err))) {
		cli_err(c->j.cmd, "%s: the state file: %s", c->file, err);
		goto out;
	}
	if (memcmp(f->lineage, c->lineage, sizeof(c->lineage)) || f->generation != c->generation ||
	    f->kind != SNAP_KIND_FULL) {
		cli_err(c->j.cmd, "%s: the state file's lineage or generation is not the manifest's",
			c->file);
		goto out;
	}
	sec = snapfile_find(f, SNAP_SEC_CONFIG);
	cfg = sec ? json_tokener_parse(strndupa((const char *)sec->data, sec->len)) : NULL;
	if (!cfg) {
		cli_err(c->j.cmd, "%s: the state file carries no configuration", c->file);
		goto out;
	}
	if (json_object_object_get_ex(cfg, "drives", &drives))
		for (size_t i = 0; i < json_object_array_length(drives); i++) {
			struct json_object *d = json_object_array_get_idx(drives, i);
			const struct ex_member *m;

			if (!json_object_object_get_ex(d, "path_on_host", &p) ||
			    !(m = im_orig(c, json_object_get_string(p)))) {
				cli_err(c->j.cmd, "%s: drive %zu of the configuration is not in the archive",
					c->file, i);
				goto out;
			}
			json_object_object_add(d, "path_on_host", json_object_new_string(m->dest));
		}
	text = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	for (uint32_t i = 0; i < f->nr_sections; i++)
		if (f->sections[i].tag == SNAP_SEC_CONFIG) {
			f->sections[i].data = (const uint8_t *)text;
			f->sections[i].len = strlen(text);
		}
	if (lineage_hostkey(store, key, err, sizeof(err))) {
		cli_err(c->j.cmd, "%s", err);
		goto out;
	}
	ret = snapfile_write(f, key, &out);
	sodium_memzero(key, sizeof(key));
	if (!ret)
		ret = snapfile_write_path(st->path, out.buf, out.len);
	if (ret) {
		cli_err(c->j.cmd, "%s: %s", st->path, strerror(-ret));
		ret = CLI_FAIL;
	}
out:
	snap_out_free(&out);
	json_object_put(cfg);
	free(buf);
	free(f);
	return ret;
}

/* The final name of each member under dir: by role, never the archive's own name. */
static void im_dests(struct im_ctx *c, const char *dir)
{
	int disks = 0;

	for (int i = 0; i < c->j.n; i++) {
		struct ex_member *m = &c->j.m[i];

		if (!strcmp(m->role, "disk"))
			snprintf(m->dest, sizeof(m->dest), "%.4000s/disk%d.img", dir, disks++);
		else if (!strcmp(m->role, "state") || !strcmp(m->role, "memory"))
			snprintf(m->dest, sizeof(m->dest), "%.4000s/snapshot.%s", dir, m->role);
		else
			snprintf(m->dest, sizeof(m->dest), "%.4000s/%s", dir, m->role);
	}
}

/* Move the staged files to their places (renames within one file system); none may exist. */
static int im_place(const char *dir, void *arg)
{
	struct im_ctx *c = arg;
	struct stat sb;

	(void)dir;
	for (int i = 0; i < c->j.n; i++)
		if (!lstat(c->j.m[i].dest, &sb)) {
			cli_err(c->j.cmd, "%s exists: refusing to replace it", c->j.m[i].dest);
			return CLI_FAIL;
		}
	for (; c->placed < c->j.n; c->placed++) {
		struct ex_member *m = &c->j.m[c->placed];

		if (rename(m->path, m->dest)) {
			cli_err(c->j.cmd, "cannot move %s to %s: %s", m->path, m->dest, strerror(errno));
			return CLI_FAIL;
		}
	}
	return 0;
}

/* The run flags with each archived file's flag pointing at its new place. */
static struct json_object *im_flags(struct im_ctx *c)
{
	struct json_object *cfg, *argv = NULL, *out = json_object_new_array();

	if (json_object_object_get_ex(c->man, "config", &cfg))
		json_object_object_get_ex(cfg, "argv", &argv);
	for (size_t i = 0; argv && i < json_object_array_length(argv); i++) {
		size_t first = i;
		const char *role, *v = ex_path_flag(argv, &i, &role);
		const char *comma = v && !strcmp(role, "disk") ? strchr(v, ',') : NULL;
		char path[PATH_MAX], flag[PATH_MAX + 256];
		const struct ex_member *m;

		if (v)
			snprintf(path, sizeof(path), "%.*s", comma ? (int)(comma - v) : (int)strlen(v), v);
		if (!v || !(m = im_orig(c, path))) {
			for (size_t k = first; k <= i; k++)
				json_object_array_add(out, json_object_get(json_object_array_get_idx(argv, k)));
			continue;
		}
		snprintf(flag, sizeof(flag), "--%s=%s%s", role, m->dest, comma ? comma : "");
		json_object_array_add(out, json_object_new_string(flag));
	}
	return out;
}

/* A stopped VM: its entry (meta.json, state.json) under the root's lock, its files placed in it. */
static int im_stopped(struct im_ctx *c, const char *root, const char *vmdir)
{
	struct json_object *meta = json_object_new_object(), *run = json_object_new_object();
	struct json_object *args = json_object_new_array(), *flags = im_flags(c), *cfg, *v;
	struct passwd *pw = getpwuid(getuid());
	char err[STATE_ERR_MAX];
	int64_t vcpus = 1, mem = 256, now = time(NULL);
	int lock, fd, ret = CLI_FAIL, made = 0;
	uint64_t start = 0;

	if (json_object_object_get_ex(c->man, "config", &cfg)) {
		if (json_object_object_get_ex(cfg, "vcpus", &v))
			vcpus = json_object_get_int64(v);
		if (json_object_object_get_ex(cfg, "mem_mib", &v))
			mem = json_object_get_int64(v);
	}
	json_object_array_add(args, json_object_new_string("vmon"));
	json_object_array_add(args, json_object_new_string("run"));
	json_object_array_add(args, json_object_new_string("--state-dir"));
	json_object_array_add(args, json_object_new_string(vmdir));
	json_object_array_add(args, json_object_new_string("--name"));
	json_object_array_add(args, json_object_new_string(c->name));
	for (size_t i = 0; i < json_object_array_length(flags); i++)
		json_object_array_add(args, json_object_get(json_object_array_get_idx(flags, i)));
	json_object_put(flags);
	json_object_object_add(meta, "name", json_object_new_string(c->name));
	/* The entry's process is this import's, which is gone once it returns: the entry is stopped. */
	state_proc_start(getpid(), &start);
	json_object_object_add(meta, "pid", json_object_new_int(getpid()));
	json_object_object_add(meta, "pid_start", json_object_new_int64((int64_t)start));
	json_object_object_add(meta, "created", json_object_new_int64(now));
	json_object_object_add(meta, "uid", json_object_new_int64(getuid()));
	json_object_object_add(meta, "user", json_object_new_string(pw ? pw->pw_name : "?"));
	json_object_object_add(meta, "ttl", json_object_new_int64(0));
	json_object_object_add(meta, "labels", json_object_new_object());
	json_object_object_add(meta, "argv", args);
	json_object_object_add(meta, "vcpus", json_object_new_int64(vcpus));
	json_object_object_add(meta, "mem_mib", json_object_new_int64(mem));
	json_object_object_add(run, "state", json_object_new_string("Stopped"));
	json_object_object_add(run, "pid", json_object_new_int(getpid()));
	json_object_object_add(run, "started", json_object_new_int64(0));
	json_object_object_add(run, "updated", json_object_new_int64(now));
	json_object_object_add(run, "vcpus", json_object_new_int64(vcpus));
	json_object_object_add(run, "mem_mib", json_object_new_int64(mem));
	json_object_object_add(run, "reason", json_object_new_string("imported, not started"));
	lock = state_lock(root, err);
	if (lock < 0) {
		cli_err(c->j.cmd, "%s", err);
		goto out;
	}
	fd = state_dir_open(root, err);
	made = fd >= 0 && mkdirat(fd, c->name, 0700) == 0;
	if (fd >= 0)
		close(fd);
	if (!made) {
		cli_err(c->j.cmd, "cannot create %s: %s", vmdir, fd < 0 ? err : strerror(errno));
		close(lock);
		goto out;
	}
	ret = im_place(vmdir, c) || state_write_json(vmdir, "meta.json", meta, err) ||
	      state_write_json(vmdir, "state.json", run, err) ? CLI_FAIL : 0;
	if (ret && c->placed == c->j.n)
		cli_err(c->j.cmd, "%s", err);
	if (ret)
		state_rmtree(vmdir);
	close(lock);
out:
	json_object_put(meta);
	json_object_put(run);
	return ret;
}

/* The stage directory in base (the state root or --dir): same file system as the files' places. */
static int im_stage(struct im_ctx *c, const char *base)
{
	snprintf(c->stage, sizeof(c->stage), "%.4000s/.vmon-import-XXXXXX", base);
	if (!mkdtemp(c->stage)) {
		cli_err(c->j.cmd, "cannot create a directory in %s: %s", base, strerror(errno));
		c->stage[0] = 0;
		return CLI_FAIL;
	}
	return 0;
}

/* --dir DIR: created 0700 if absent, made absolute (the VM process opens the files). */
static int im_dir(const char *cmd, const char *dir, char *abs)
{
	if (mkdir(dir, 0700) && errno != EEXIST) {
		cli_err(cmd, "cannot create %s: %s", dir, strerror(errno));
		return CLI_FAIL;
	}
	if (!realpath(dir, abs)) {
		cli_err(cmd, "%s: %s", dir, strerror(errno));
		return CLI_FAIL;
	}
	return 0;
}

/* Undo what a failed import placed in --dir (the VM's own directory goes as a whole). */
static void im_unplace(struct im_ctx *c)
{
	for (int i = 0; i < c->placed; i++)
		unlink(c->j.m[i].dest);
}

int cli_import(int argc, char **argv)
{
	char root[STATE_PATH_MAX], store[STATE_PATH_MAX], err[STATE_ERR_MAX], vmdir[PATH_MAX];
	char ddir[PATH_MAX];
	struct archive *ar = NULL;
	struct state_entry e;
	struct ex_member *st, *mem;
	struct im_ctx *c;
	struct ex_args a;
	struct stat sb;
	double t0 = ex_now();
	int ret;

	if (cli_wants_help(argc, argv)) {
		fputs(help_import, stdout);
		return CLI_OK;
	}
	ret = ex_parse("import", argc, argv, 1, &a);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c || sodium_init() < 0)
		return free(c), CLI_FAIL;
	c->j.cmd = "import";
	c->file = a.pos[0];
	ret = CLI_FAIL;
	if (a.key && ex_load_key("import", a.key, &c->j))
		goto out;
	if (stat(c->file, &sb) || !S_ISREG(sb.st_mode)) {
		cli_err("import", "%s: %s", c->file, errno ? strerror(errno) : "not a regular file");
		goto out;
	}
	if (state_root(root, sizeof(root), err) || state_snapshot_store(store, sizeof(store), err)) {
		cli_err("import", "%s", err);
		goto out;
	}
	if (a.name)
		snprintf(c->name, sizeof(c->name), "%s", a.name);
	/* The manifest, then every check that needs no member, before anything is written. */
	ar = im_open(c);
	if (!ar)
		goto out;
	snprintf(vmdir, sizeof(vmdir), "%.4000s/%s", root, c->name);
	if (state_entry_load(root, c->name, &e) == 0) {
		cli_err("import", "%s: exists (%s)", c->name, state_status_name(e.status));
		state_entry_free(&e);
		goto out;
	}
	if (c->has_snap && im_rollback(c, store, a.allow_rollback))
		goto out;
	if (a.dir && im_dir("import", a.dir, ddir))
		goto out;
	im_dests(c, a.dir ? ddir : vmdir);
	if (im_stage(c, a.dir ? ddir : root))
		goto out;
	fprintf(stderr, "vmon: import: %s from %s (%d members%s)\n", c->name, c->file, c->j.n,
		c->has_snap ? ", with a snapshot" : ", stopped");
	if (im_members(c, ar) || (c->has_snap && im_reseal(c, store)))
		goto out;
	archive_read_free(ar);
	ar = NULL;
	/* Verified: place the files and make the VM. */
	if (!c->has_snap) {
		ret = im_stopped(c, root, vmdir);
	} else {
		st = im_role(c, "state");
		mem = im_role(c, "memory");
		if (a.dir && im_place(ddir, c)) {
			im_unplace(c);
			goto out;
		}
		ret = cli_restore_files("import", c->name, st->dest, mem->dest, a.paused,
					a.allow_rollback, a.dir ? NULL : im_place, c);
		if (ret && a.dir)
			im_unplace(c);
	}
	if (!ret) {
		fprintf(stderr, "vmon: import: %llu bytes verified in %.2f s\n",
			(unsigned long long)c->j.bytes, ex_now() - t0);
		printf("%s: imported from %s; %s\n", c->name, c->file,
		       !c->has_snap ? "stopped (no snapshot)" : a.paused ? "paused" : "running");
	}
out:
	if (ar)
		archive_read_free(ar);
	json_object_put(c->man);
	if (c->stage[0])
		state_rmtree(c->stage);
	sodium_memzero(c->j.key, sizeof(c->j.key));
	free(c);
	return ret;
}
