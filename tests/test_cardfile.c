/*
 * test_cardfile.c: the card file (image, parser, atomic commit), the fault-injecting I/O
 * layer, tear sweeps with their negative controls, and counters across power cuts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cardfile.h"
#include "cardio.h"
#include "cardstate.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"

static char tmpdir[256];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/pcard-cardfile-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void
remove_card(const char *path)
{
	char tmp[600];

	snprintf(tmp, sizeof tmp, "%s.new", path);
	unlink(path);
	unlink(tmp);
}

static pcard_aid
aid(const char *hex)
{
	pcard_aid a;

	assert_int_equal(pcard_aid_from_hex(&a, hex), PCARD_OK);
	return a;
}

/*
 * The representative commit of the tear tests: a LOAD + INSTALL (a load file with three
 * modules, an instance with 10 KB of data, memory accounting), a PUT KEY replacing the
 * values of key set FF, and counters (sequence counter, receipt counter) moving on.
 */
static void
mutate(pcard_cardstate *cs)
{
	pcard_card_elf elf;
	pcard_card_app app;
	pcard_card_keyset *ks;
	uint8_t data[10000];

	memset(&elf, 0, sizeof elf);
	elf.aid = aid("A00000FFFFF0");
	elf.major = 1;
	elf.sd = cs->isd.aid;
	elf.size = 2048;
	elf.hash_len = 32;
	memset(elf.hash, 0x3C, 32);
	elf.nmodules = 3;
	elf.modules[0] = aid("A00000FFFFF001");
	elf.modules[1] = aid("A00000FFFFF002");
	elf.modules[2] = aid("A00000FFFFF003");
	elf.nimports = 2;
	elf.imports[0].aid = aid("A0000000620001");
	elf.imports[0].major = 1;
	elf.imports[1].aid = aid("A0000000620101");
	elf.imports[1].major = 1;
	elf.imports[1].minor = 3;
	assert_int_equal(pcard_cardstate_elf_add(cs, &elf), PCARD_OK);

	memset(&app, 0, sizeof app);
	app.aid = aid("A00000FFFFF00101");
	app.life_cycle = PCARD_APP_SELECTABLE;
	app.elf = elf.aid;
	app.module = elf.modules[0];
	app.sd = cs->isd.aid;
	app.nv_used = 10000;
	app.data_version = 1;
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 131 + 17);
	assert_int_equal(pcard_card_app_set_data(&app, data, sizeof data), PCARD_OK);
	assert_int_equal(pcard_cardstate_app_add(cs, &app), PCARD_OK);
	pcard_card_app_clear(&app);
	cs->nvm_used += 2048 + 10000;

	assert_non_null(ks = pcard_card_sd_keyset_find(&cs->isd, 0xFF));
	for (size_t i = 0; i < ks->nkeys; i++)
		memset(ks->keys[i].value, 0xA0 + (int)i, ks->keys[i].len);
	ks->seq++;
	cs->receipt_counter++;
}

static void
test_image_roundtrip(void **state)
{
	pcard_cardstate a, b;
	pcard_cardfile f;
	uint8_t *img;
	size_t n;
	uint64_t gen = 0;
	char path[300], why[64];
	struct timespec t0, t1;
	const int commits = 50;

	(void)state;
	pcard_cardstate_init(&a);
	pcard_cardstate_init(&b);
	assert_int_equal(pcard_cardstate_default(&a, NULL), PCARD_OK);
	mutate(&a);
	assert_int_equal(pcard_cardfile_image(&a, 0x0102030405ULL, &img, &n), PCARD_OK);
	assert_memory_equal(img, "PCARDSIM\x00\x01\x00\x00", 12);
	assert_int_equal(pcard_cardfile_parse(img, n, &b, &gen), PCARD_OK);
	assert_int_equal(gen, 0x0102030405ULL);
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));
	pcard_cardfile_image_free(img, n);

	/* through the disk: create, reopen, change, commit, reopen */
	path_of(path, sizeof path, "roundtrip");
	remove_card(path);
	assert_int_equal(pcard_cardfile_create(&f, NULL, path, &a), PCARD_OK);
	assert_int_equal(f.generation, 1);
	pcard_cardfile_close(&f);
	assert_int_equal(pcard_cardfile_create(&f, NULL, path, &a), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardfile_open(&f, NULL, path, &b), PCARD_OK);
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));
	/* many fields at once, including 64 KB blobs that need several reads and chunks */
	b.life_cycle = PCARD_CARD_LOCKED;
	b.apps[0].life_cycle = 0x83;
	b.apps[0].data_version = 2;
	b.isd.sd_info.keysets[0].fails = 4;
	b.elfs[0].size = 7;
	for (int i = 0; i < 3; i++) {
		pcard_card_app app;
		uint8_t *big = calloc(PCARD_CS_DATA_MAX, 1);

		assert_non_null(big);
		memset(&app, 0, sizeof app);
		app.aid = aid("A00000FFFFB000");
		app.aid.b[6] = (uint8_t)i;
		app.life_cycle = PCARD_APP_INSTALLED;
		big[i] = 1;
		assert_int_equal(pcard_card_app_set_data(&app, big, PCARD_CS_DATA_MAX), PCARD_OK);
		assert_int_equal(pcard_cardstate_app_add(&b, &app), PCARD_OK);
		pcard_card_app_clear(&app);
		free(big);
	}
	assert_int_equal(pcard_cardfile_commit(&f, &b), PCARD_OK);
	pcard_cardfile_close(&f);
	pcard_cardstate_clear(&a);
	assert_int_equal(pcard_cardfile_open(&f, NULL, path, &a), PCARD_OK);
	assert_int_equal(f.generation, 2);
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));

	/* what one commit costs (fsync of the file and of the directory included) */
	pcard_cardstate_clear(&b);
	assert_int_equal(pcard_cardstate_default(&b, NULL), PCARD_OK);
	mutate(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < commits; i++) {
		b.isd.sd_info.keysets[0].seq++;
		assert_int_equal(pcard_cardfile_commit(&f, &b), PCARD_OK);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(pcard_cardfile_image(&b, 0, &img, &n), PCARD_OK);
	printf("commit of a %zu-byte card file: %.0f us (mean of %d, fsyncs included)\n", n,
	    ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / commits, commits);
	pcard_cardfile_image_free(img, n);
	pcard_cardfile_close(&f);
	assert_int_equal(pcard_cardfile_load(path, &a), PCARD_OK);
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));
	pcard_cardstate_clear(&a);
	pcard_cardstate_clear(&b);
}

/* Re-seals an image after an edit (new SHA-256), to reach the checks after the checksum. */
static void
reseal(uint8_t *img, size_t n)
{
	size_t dn;

	assert_int_equal(pcard_digest(PCARD_HASH_SHA256, img, n - 32, img + n - 32, 32, &dn),
	    PCARD_OK);
}

static void
test_parse_errors(void **state)
{
	pcard_cardstate a, b;
	uint8_t *img, *buf;
	size_t n;

	(void)state;
	pcard_cardstate_init(&a);
	pcard_cardstate_init(&b);
	assert_int_equal(pcard_cardstate_default(&a, NULL), PCARD_OK);
	assert_int_equal(pcard_cardfile_image(&a, 7, &img, &n), PCARD_OK);
	assert_non_null(buf = malloc(n + 1));

	/* truncated anywhere (a torn file): an error, never a state */
	for (size_t k = 0; k < n; k++) {
		pcard_err e = pcard_cardfile_parse(img, k, &b, NULL);

		assert_true(e == PCARD_E_TRUNCATED || (k < 8 && e == PCARD_E_TRUNCATED));
		assert_int_equal(b.nelfs, 0);
	}
	/* trailing data */
	memcpy(buf, img, n);
	buf[n] = 0;
	assert_int_equal(pcard_cardfile_parse(buf, n + 1, &b, NULL), PCARD_E_TRAILING_DATA);
	/* every single flipped bit of the body or the checksum: checksum mismatch */
	for (size_t k = PCARD_CARDFILE_HEADER_BYTES; k < n; k += 7) {
		memcpy(buf, img, n);
		buf[k] ^= (uint8_t)(1u << (k % 8));
		assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_BAD_FILE);
	}
	/* bad magic */
	memcpy(buf, img, n);
	buf[0] = 'X';
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_BAD_FILE);
	/* a newer format version, unknown flags, version 0 */
	memcpy(buf, img, n);
	buf[9] = 2;
	reseal(buf, n);
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_UNSUPPORTED);
	memcpy(buf, img, n);
	buf[11] = 1;
	reseal(buf, n);
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_UNSUPPORTED);
	memcpy(buf, img, n);
	buf[9] = 0;
	reseal(buf, n);
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_BAD_FILE);
	/* a body length over the file, and under it */
	memcpy(buf, img, n);
	buf[23]++;
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_TRUNCATED);
	memcpy(buf, img, n);
	buf[23]--;
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_TRAILING_DATA);
	/* a correctly sealed but malformed body: the body decoder's verdict */
	memcpy(buf, img, n);
	buf[PCARD_CARDFILE_HEADER_BYTES] = 0xFF;	/* ATR length 255 */
	reseal(buf, n);
	assert_int_equal(pcard_cardfile_parse(buf, n, &b, NULL), PCARD_E_BAD_FILE);
	assert_int_equal(pcard_cardfile_parse(NULL, 3, &b, NULL), PCARD_E_INVALID_ARG);
	free(buf);
	pcard_cardfile_image_free(img, n);
	pcard_cardstate_clear(&a);
}

static void
test_open_errors(void **state)
{
	pcard_cardstate a, b;
	pcard_cardfile f;
	char path[300], tmp[320], longpath[700];
	int fd;
	struct stat st;

	(void)state;
	pcard_cardstate_init(&a);
	pcard_cardstate_init(&b);
	assert_int_equal(pcard_cardstate_default(&a, NULL), PCARD_OK);
	path_of(path, sizeof path, "missing");
	assert_int_equal(pcard_cardfile_open(&f, NULL, path, &b), PCARD_E_NOT_FOUND);
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	assert_int_equal(pcard_cardfile_open(&f, NULL, longpath, &b), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardfile_open(&f, NULL, "", &b), PCARD_E_INVALID_ARG);
	memset(&f, 0, sizeof f);
	assert_int_equal(pcard_cardfile_commit(&f, &a), PCARD_E_INVALID_ARG);	/* not open */

	/* a leftover PATH.new (a commit that never reached its rename) is removed at open */
	path_of(path, sizeof path, "leftover");
	remove_card(path);
	assert_int_equal(pcard_cardfile_create(&f, NULL, path, &a), PCARD_OK);
	pcard_cardfile_close(&f);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	assert_int_equal(pcard_cardfile_open(&f, NULL, path, &b), PCARD_OK);
	assert_int_not_equal(stat(tmp, &st), 0);
	pcard_cardfile_close(&f);

	/* a file that is not a card file */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "PCARDSIM", 8), 8);
	close(fd);
	assert_int_equal(pcard_cardfile_load(path, &b), PCARD_E_TRUNCATED);
	/* a directory where the file should be */
	assert_int_equal(pcard_cardfile_load(tmpdir, &b), PCARD_E_IO);
	pcard_cardstate_clear(&a);
	pcard_cardstate_clear(&b);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void
test_cardio(void **state)
{
	pcard_cardio io;
	char p1[300], p2[300];
	uint8_t buf[100];
	size_t got;
	int fd, fds[PCARD_CARDIO_TRACK + 1];

	(void)state;
	memset(buf, 0x55, sizeof buf);
	path_of(p1, sizeof p1, "io1");
	path_of(p2, sizeof p2, "io2");
	unlink(p1);
	unlink(p2);

	/* counting, and a cut: operation k and all later fail */
	pcard_cardio_init(&io);
	assert_int_equal(pcard_cardio_open(&io, p1, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd),
	    PCARD_OK);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 10), PCARD_OK);
	assert_int_equal(io.ops, 2);
	pcard_cardio_reset_count(&io);
	pcard_cardio_cut_at(&io, 2, PCARD_CARDIO_TORN_HALF);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 10), PCARD_OK);	/* op 1 */
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 100), PCARD_E_IO);	/* op 2: torn */
	assert_int_equal(io.torn_bytes, 50);
	assert_int_equal(pcard_cardio_fsync(&io, fd), PCARD_E_IO);
	assert_int_equal(pcard_cardio_close(&io, fd), PCARD_E_IO);
	assert_int_equal(pcard_cardio_rename(&io, p1, p2), PCARD_E_IO);
	assert_int_equal(pcard_cardio_unlink(&io, p1), PCARD_E_IO);
	assert_int_equal(pcard_cardio_open(&io, p1, O_RDONLY, 0, &fd), PCARD_E_IO);
	assert_int_equal(io.powered, 0);
	assert_int_equal(file_size(p1), 10 + 10 + 50);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	assert_int_equal(io.ops, 0);
	assert_int_equal(pcard_cardio_open(&io, p1, O_RDONLY, 0, &fd), PCARD_OK);
	assert_int_equal(pcard_cardio_read(&io, fd, buf, sizeof buf, &got), PCARD_OK);
	assert_int_equal(got, 70);
	assert_int_equal(pcard_cardio_close(&io, fd), PCARD_OK);
	assert_int_equal(pcard_cardio_open(&io, p2, O_RDONLY, 0, &fd), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_cardio_unlink(&io, p2), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_cardio_rename(&io, p2, p1), PCARD_E_NOT_FOUND);

	/* a random tear is a deterministic prefix shorter than the write; CLEAN writes none */
	pcard_cardio_init(&io);
	io.seed = 12345;
	assert_int_equal(pcard_cardio_open(&io, p1, O_WRONLY | O_TRUNC, 0, &fd), PCARD_OK);
	pcard_cardio_cut_at(&io, 2, PCARD_CARDIO_TORN_RANDOM);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 100), PCARD_E_IO);
	assert_true(io.torn_bytes < 100);
	assert_int_equal(file_size(p1), (off_t)io.torn_bytes);
	close(fd);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	assert_int_equal(pcard_cardio_open(&io, p1, O_WRONLY | O_TRUNC, 0, &fd), PCARD_OK);
	pcard_cardio_cut_at(&io, 2, PCARD_CARDIO_CLEAN);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 100), PCARD_E_IO);
	assert_int_equal(file_size(p1), 0);
	close(fd);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);

	/* LOSE_DATA: unsynced bytes are gone after the crash, synced ones stay */
	pcard_cardio_init(&io);
	io.crash = PCARD_CARDIO_LOSE_DATA;
	assert_int_equal(pcard_cardio_open(&io, p1, O_WRONLY | O_TRUNC, 0, &fd), PCARD_OK);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 30), PCARD_OK);
	assert_int_equal(pcard_cardio_fsync(&io, fd), PCARD_OK);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 40), PCARD_OK);
	assert_int_equal(pcard_cardio_close(&io, fd), PCARD_OK);
	assert_int_equal(file_size(p1), 70);
	pcard_cardio_power_cut(&io);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	assert_int_equal(file_size(p1), 30);
	pcard_cardio_clear(&io);

	/* LOSE_ALL: a rename without a directory fsync is undone, the replaced file returns */
	pcard_cardio_init(&io);
	io.crash = PCARD_CARDIO_LOSE_ALL;
	assert_int_equal(pcard_cardio_open(&io, p2, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd),
	    PCARD_OK);
	assert_int_equal(pcard_cardio_write(&io, fd, buf, 5), PCARD_OK);
	assert_int_equal(pcard_cardio_fsync(&io, fd), PCARD_OK);
	assert_int_equal(pcard_cardio_close(&io, fd), PCARD_OK);
	assert_int_equal(pcard_cardio_rename(&io, p2, p1), PCARD_OK);
	assert_int_equal(file_size(p1), 5);
	pcard_cardio_power_cut(&io);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	assert_int_equal(file_size(p1), 30);
	assert_int_equal(file_size(p2), 5);
	/* and kept once the directory is fsynced */
	assert_int_equal(pcard_cardio_rename(&io, p2, p1), PCARD_OK);
	assert_int_equal(pcard_cardio_open(&io, tmpdir, O_RDONLY | O_DIRECTORY, 0, &fd), PCARD_OK);
	assert_int_equal(pcard_cardio_fsync(&io, fd), PCARD_OK);
	assert_int_equal(pcard_cardio_close(&io, fd), PCARD_OK);
	pcard_cardio_power_cut(&io);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	assert_int_equal(file_size(p1), 5);

	/* bookkeeping that overflows makes the crash unplayable: reported, not ignored */
	for (size_t i = 0; i < PCARD_CARDIO_TRACK + 1; i++) {
		char p[320];

		snprintf(p, sizeof p, "%s/many%zu", tmpdir, i);
		assert_int_equal(pcard_cardio_open(&io, p, O_WRONLY | O_CREAT | O_TRUNC, 0600,
		    &fds[i]), PCARD_OK);
	}
	pcard_cardio_power_cut(&io);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_E_INTERNAL);
	for (size_t i = 0; i < PCARD_CARDIO_TRACK + 1; i++)
		close(fds[i]);
	pcard_cardio_clear(&io);
	pcard_cardio_clear(&io);
}

typedef struct sweep_result {
	unsigned ops, tried, before, after, inconsistent, unreadable;
	unsigned lost;		/* 1 when the state after an acknowledged commit was not there */
} sweep_result;

static const char *const mode_names[] = { "SAFE", "UNSAFE_IN_PLACE", "UNSAFE_NO_FSYNC" };
static const char *const crash_names[] = { "KEEP_ALL", "LOSE_DATA", "LOSE_ALL" };
static const char *const torn_names[] = { "clean", "torn-half", "torn-random" };

/*
 * Cuts the power at every I/O operation of one commit (before -> mutate -> commit), restores
 * it, reopens the card file and classifies what it finds.
 */
static void
sweep(pcard_cardio_commit_mode mode, pcard_cardio_crash crash, pcard_cardio_torn torn,
    sweep_result *res)
{
	pcard_cardstate before, after, cs, now;
	pcard_cardfile f;
	pcard_cardio io;
	char path[300];

	memset(res, 0, sizeof *res);
	pcard_cardstate_init(&before);
	pcard_cardstate_init(&after);
	pcard_cardstate_init(&cs);
	pcard_cardstate_init(&now);
	assert_int_equal(pcard_cardstate_default(&before, NULL), PCARD_OK);
	assert_int_equal(pcard_cardstate_copy(&after, &before), PCARD_OK);
	mutate(&after);
	path_of(path, sizeof path, "tear");
	for (unsigned long k = 1;; k++) {
		pcard_err err;

		assert_true(k < 1000);
		remove_card(path);
		assert_int_equal(pcard_cardfile_create(&f, NULL, path, &before), PCARD_OK);
		pcard_cardfile_close(&f);

		pcard_cardio_init(&io);
		io.mode = mode;
		io.crash = crash;
		io.seed = (uint32_t)k * 2654435761u;
		assert_int_equal(pcard_cardfile_open(&f, &io, path, &cs), PCARD_OK);
		mutate(&cs);
		pcard_cardio_reset_count(&io);
		pcard_cardio_cut_at(&io, k, torn);
		err = pcard_cardfile_commit(&f, &cs);
		pcard_cardfile_close(&f);
		if (err == PCARD_OK) {
			/* k is past the last operation: the last tear point is just after the
			 * commit returned (the response has left: it must be durable) */
			assert_int_equal(io.powered, 1);
			res->ops = (unsigned)(k - 1);
			pcard_cardio_power_cut(&io);
		} else {
			assert_int_equal(err, PCARD_E_IO);
		}
		assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
		pcard_cardio_clear(&io);
		res->tried++;
		if (pcard_cardfile_load(path, &now) != PCARD_OK)
			res->unreadable++;
		else if (pcard_cardstate_eq(&now, &before, NULL, 0))
			res->before++;
		else if (pcard_cardstate_eq(&now, &after, NULL, 0))
			res->after++;
		else
			res->inconsistent++;
		if (err == PCARD_OK) {
			/* an acknowledged commit that did not survive */
			res->lost = !pcard_cardstate_eq(&now, &after, NULL, 0);
			break;
		}
	}
	printf("tear sweep %-15s %-9s %-11s: %2u operations, %2u tear points tried: before %2u, "
	    "after %2u, inconsistent %u, unreadable %u, acknowledged but lost %u\n",
	    mode_names[mode], crash_names[crash], torn_names[torn], res->ops, res->tried,
	    res->before, res->after, res->inconsistent, res->unreadable, res->lost);
	pcard_cardstate_clear(&before);
	pcard_cardstate_clear(&after);
	pcard_cardstate_clear(&cs);
	pcard_cardstate_clear(&now);
}

static void
test_tear_sweep_safe(void **state)
{
	unsigned total = 0, bad = 0;

	(void)state;
	for (int c = PCARD_CARDIO_KEEP_ALL; c <= PCARD_CARDIO_LOSE_ALL; c++) {
		for (int t = PCARD_CARDIO_CLEAN; t <= PCARD_CARDIO_TORN_RANDOM; t++) {
			sweep_result r;

			sweep(PCARD_CARDIO_SAFE, (pcard_cardio_crash)c, (pcard_cardio_torn)t, &r);
			/* the image spans several chunks: tears land inside the file */
			assert_true(r.ops >= 9);
			assert_int_equal(r.tried, r.ops + 1);
			assert_int_equal(r.lost, 0);
			assert_int_equal(r.inconsistent, 0);
			assert_int_equal(r.unreadable, 0);
			/* both outcomes occur: the sweep does cross the commit point */
			assert_true(r.before > 0);
			assert_true(r.after > 0);
			total += r.tried;
			bad += r.inconsistent + r.unreadable + r.lost;
		}
	}
	printf("tear sweeps (atomic commit): %u tear points tried, %u inconsistent states\n",
	    total, bad);
	assert_int_equal(bad, 0);
}

static void
test_tear_sweep_negative_controls(void **state)
{
	sweep_result r;
	unsigned bad;

	(void)state;
	/* writing in place: a torn or interrupted write leaves a file that is neither */
	sweep(PCARD_CARDIO_UNSAFE_IN_PLACE, PCARD_CARDIO_KEEP_ALL, PCARD_CARDIO_TORN_HALF, &r);
	bad = r.inconsistent + r.unreadable;
	printf("negative control (in place, torn): %u of %u tear points bad\n", bad, r.tried);
	assert_true(bad > 0);
	sweep(PCARD_CARDIO_UNSAFE_IN_PLACE, PCARD_CARDIO_KEEP_ALL, PCARD_CARDIO_CLEAN, &r);
	assert_true(r.inconsistent + r.unreadable > 0);
	/* rename without fsync: the rename survives a crash that loses the data */
	sweep(PCARD_CARDIO_UNSAFE_NO_FSYNC, PCARD_CARDIO_LOSE_DATA, PCARD_CARDIO_CLEAN, &r);
	bad = r.inconsistent + r.unreadable + r.lost;
	printf("negative control (no fsync, data lost): %u of %u tear points bad\n", bad,
	    r.tried);
	assert_true(bad > 0);
	/* and a crash that also drops the rename loses an acknowledged commit */
	sweep(PCARD_CARDIO_UNSAFE_NO_FSYNC, PCARD_CARDIO_LOSE_ALL, PCARD_CARDIO_CLEAN, &r);
	assert_int_equal(r.lost, 1);
	/* the same commit without fsync looks fine when nothing is lost: the crash model is
	 * what exposes it */
	sweep(PCARD_CARDIO_UNSAFE_NO_FSYNC, PCARD_CARDIO_KEEP_ALL, PCARD_CARDIO_CLEAN, &r);
	assert_int_equal(r.inconsistent + r.unreadable + r.lost, 0);
}

/*
 * Counters across power cuts: a chain of INITIALIZE UPDATE-like increments and failed
 * authentications with a cut at a different operation in most of them. A value the card
 * answered with is never handed out again, and what the card reopens with never goes
 * below what it answered or what it had reopened with before.
 */
static void
test_counters_never_go_backwards(void **state)
{
	pcard_cardstate cs;
	pcard_cardfile f;
	pcard_cardio io;
	pcard_card_keyset *ks;
	char path[300];
	unsigned cuts = 0, answered = 0;

	(void)state;
	pcard_cardstate_init(&cs);
	path_of(path, sizeof path, "counters");
	for (int c = PCARD_CARDIO_KEEP_ALL; c <= PCARD_CARDIO_LOSE_ALL; c++) {
		uint32_t last_seq = 0, seen_seq = 0;
		unsigned last_fails = 0;

		remove_card(path);
		assert_int_equal(pcard_cardstate_default(&cs, NULL), PCARD_OK);
		cs.auth_limit = 200;
		assert_int_equal(pcard_cardfile_create(&f, NULL, path, &cs), PCARD_OK);
		pcard_cardfile_close(&f);
		pcard_cardio_init(&io);
		io.crash = (pcard_cardio_crash)c;
		assert_int_equal(pcard_cardfile_open(&f, &io, path, &cs), PCARD_OK);
		for (unsigned round = 0; round < 60; round++) {
			uint32_t seq = 0;
			pcard_err err;
			int fail_round = round % 3 == 2;

			assert_non_null(ks = pcard_card_sd_keyset_find(&cs.isd, 0xFF));
			pcard_cardio_reset_count(&io);
			pcard_cardio_cut_at(&io, round % 5 == 0 ? 0 : round % 11 + 1,
			    (pcard_cardio_torn)(round % 3));
			if (fail_round) {
				err = pcard_cardfile_auth_failed(&f, &cs, ks);
				if (err == PCARD_OK) {
					assert_true(ks->fails > last_fails);
					last_fails = ks->fails;
				}
			} else {
				err = pcard_cardfile_seq_next(&f, &cs, ks, &seq);
				if (err == PCARD_OK) {
					assert_true(seq > last_seq);	/* never handed out twice */
					last_seq = seq;
					answered++;
				}
			}
			if (err == PCARD_OK)
				continue;
			/* the power went: the card answered nothing; reopen as after a reset */
			cuts++;
			pcard_cardfile_close(&f);
			assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
			assert_int_equal(pcard_cardfile_open(&f, &io, path, &cs), PCARD_OK);
			assert_non_null(ks = pcard_card_sd_keyset_find(&cs.isd, 0xFF));
			assert_true(ks->seq >= last_seq);
			assert_true(ks->seq >= seen_seq);
			assert_true(ks->fails >= last_fails);
			seen_seq = ks->seq;
			last_fails = ks->fails;
		}
		pcard_cardfile_close(&f);
		pcard_cardio_clear(&io);
		pcard_cardstate_clear(&cs);
	}
	printf("counters: %u power cuts, %u sequence values answered, none reused, none lost\n",
	    cuts, answered);
	assert_true(cuts > 30);
}

static void
test_counter_rules(void **state)
{
	pcard_cardstate cs, back;
	pcard_cardfile f;
	pcard_cardio io;
	pcard_card_keyset *ks;
	char path[300];
	uint32_t v;

	(void)state;
	pcard_cardstate_init(&cs);
	pcard_cardstate_init(&back);
	path_of(path, sizeof path, "rules");
	remove_card(path);
	assert_int_equal(pcard_cardstate_default(&cs, NULL), PCARD_OK);
	cs.auth_limit = 3;
	assert_int_equal(pcard_cardfile_create(&f, NULL, path, &cs), PCARD_OK);
	ks = &cs.isd.sd_info.keysets[0];

	/* blocked after the limit, and that is on the disk */
	assert_int_equal(pcard_cardfile_auth_failed(&f, &cs, ks), PCARD_OK);
	assert_int_equal(pcard_cardfile_auth_ok(&f, &cs, ks), PCARD_OK);
	assert_int_equal(ks->fails, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ks->blocked, 0);
		assert_int_equal(pcard_cardfile_auth_failed(&f, &cs, ks), PCARD_OK);
	}
	assert_int_equal(ks->blocked, 1);
	assert_int_equal(pcard_cardfile_load(path, &back), PCARD_OK);
	assert_int_equal(back.isd.sd_info.keysets[0].blocked, 1);
	assert_int_equal(back.isd.sd_info.keysets[0].fails, 3);

	/* a failed commit keeps the incremented value in memory: the next one moves past it */
	pcard_cardfile_close(&f);
	pcard_cardio_init(&io);
	assert_int_equal(pcard_cardfile_open(&f, &io, path, &cs), PCARD_OK);
	ks = &cs.isd.sd_info.keysets[0];
	pcard_cardio_reset_count(&io);
	pcard_cardio_cut_at(&io, 1, PCARD_CARDIO_CLEAN);
	assert_int_equal(pcard_cardfile_seq_next(&f, &cs, ks, &v), PCARD_E_IO);
	assert_int_equal(ks->seq, 1);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	assert_int_equal(pcard_cardfile_seq_next(&f, &cs, ks, &v), PCARD_OK);
	assert_int_equal(v, 2);

	/* the ends of the counters */
	ks->seq = PCARD_CS_SEQ_MAX;
	assert_int_equal(pcard_cardfile_seq_next(&f, &cs, ks, &v), PCARD_E_STATE);
	assert_int_equal(pcard_cardfile_receipt_next(&f, &cs, &v), PCARD_OK);
	assert_int_equal(v, 1);
	cs.receipt_counter = 0xFFFF;
	assert_int_equal(pcard_cardfile_receipt_next(&f, &cs, &v), PCARD_E_STATE);
	assert_int_equal(pcard_cardfile_seq_next(NULL, &cs, ks, &v), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardfile_auth_failed(&f, NULL, ks), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardfile_auth_ok(&f, &cs, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardfile_receipt_next(&f, &cs, NULL), PCARD_E_INVALID_ARG);
	pcard_cardfile_close(&f);
	pcard_cardio_clear(&io);
	pcard_cardstate_clear(&cs);
	pcard_cardstate_clear(&back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_roundtrip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_cardio),
		cmocka_unit_test(test_tear_sweep_safe),
		cmocka_unit_test(test_tear_sweep_negative_controls),
		cmocka_unit_test(test_counters_never_go_backwards),
		cmocka_unit_test(test_counter_rules),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
