// ggml_oracle writes golden vectors for engine/quant's tests by calling the
// real ggml libraries that node-llama-cpp ships (tools/oracle/node_modules).
// It is a test tool, not part of the build: see README.md next to it.
//
//   gcc -O1 -o /tmp/ggml_oracle ggml_oracle.c -ldl
//   /tmp/ggml_oracle LIBDIR cpu-variant > ../ggml_golden.bin
//
// Output: a sequence of records, each: u32 name length, name bytes,
// u64 payload length, payload bytes (little endian, as the host).
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*to_float_t)(const void *x, float *y, int64_t k);
typedef void (*from_float_t)(const float *x, void *y, int64_t k);
typedef void (*vec_dot_t)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc);

// Layouts of ggml.h's struct ggml_type_traits and ggml-cpu.h's
// struct ggml_type_traits_cpu (checked at run time against type names and
// block sizes).
struct type_traits {
	const char *type_name;
	int64_t blck_size;
	int64_t blck_size_interleave;
	size_t type_size;
	bool is_quantized;
	to_float_t to_float;
	from_float_t from_float_ref;
};
struct type_traits_cpu {
	from_float_t from_float;
	vec_dot_t vec_dot;
	int vec_dot_type;
	int64_t nrows;
};

static void *base, *cpu;
static void *sym(void *h, const char *name) {
	void *p = dlsym(h, name);
	if (!p) {
		fprintf(stderr, "missing symbol %s\n", name);
		exit(1);
	}
	return p;
}

static void record(const char *name, const void *data, uint64_t n) {
	uint32_t l = (uint32_t)strlen(name);
	fwrite(&l, 4, 1, stdout);
	fwrite(name, 1, l, stdout);
	fwrite(&n, 8, 1, stdout);
	fwrite(data, 1, n, stdout);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next64(void) {
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static double uniform(void) { return (next64() >> 11) * (1.0 / 9007199254740992.0); }
static double gauss(void) {
	double u = uniform(), v = uniform();
	if (u < 1e-300) u = 1e-300;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

#define K 512
#define WROWS 14
#define AROWS 6

// fill_weights makes rows that reach the quantisers' edge cases.
static void fill_weights(float *w) {
	for (int r = 0; r < WROWS; r++) {
		float *x = w + r * K;
		for (int j = 0; j < K; j++) {
			double v;
			switch (r) {
			case 0: v = gauss(); break;
			case 1: v = 0.02 * gauss(); break;
			case 2: v = 2 * uniform() - 1; break;
			case 3: v = 0; break;
			case 4: v = (j % 61 == 7) ? (j % 2 ? 8.0 : -8.0) : 0.001 * gauss(); break;
			case 5: v = 0.5 + uniform(); break;
			case 6: v = -0.5 - uniform(); break;
			case 7: v = 1e-6 * gauss(); break;
			case 8: v = 300 * gauss(); break;
			case 9: v = 0.3; break;
			case 10: v = (j % 32 == 0) ? 127.0 : (double)((int)(j % 64) - 32) + 0.5; break; // ties for Q8
			case 11: v = 2.0 + 0.1 * gauss(); break;
			case 12: v = (j < 256) ? 0 : gauss(); break; // a zero super-block then a normal one
			default: v = (j % 16 == 0) ? -3.0 : (double)((int)(j % 8) - 4) * 0.375; break; // grid ties for 4/5-bit types
			}
			x[j] = (float)v;
		}
	}
}

static void fill_acts(float *a) {
	for (int r = 0; r < AROWS; r++) {
		float *x = a + r * K;
		for (int j = 0; j < K; j++) {
			double v;
			switch (r) {
			case 0: v = gauss(); break;
			case 1: v = 10 * gauss(); break;
			case 2: v = 0; break;
			case 3: v = (j % 37 == 3) ? 50.0 : 0.01 * gauss(); break;
			case 4: v = (j % 32 == 5) ? 127.0 : (double)((int)(j % 50) - 25) + 0.5; break; // ties
			default: v = (j < 256) ? 0 : 3 * gauss(); break;
			}
			x[j] = (float)v;
		}
	}
}


static size_t row_size(int type, int n) {
	size_t (*type_size)(int) = sym(base, "ggml_type_size");
	int64_t (*blck_size)(int) = sym(base, "ggml_blck_size");
	return type_size(type) * (size_t)(n / blck_size(type));
}

static uint64_t fnv64(const void *p, size_t n) {
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= ((const uint8_t *)p)[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

// bulk quantises many rows made with integer arithmetic only (so that the
// Go test can make the same floats) and records a hash per row: of the
// reference quantiser's bytes for each type, and of the activation
// conversions to Q8_0, Q8_1 and Q8_K.
#define BULK_ROWS 1024
#define BULK_K 256
static uint64_t bulk_state;
static uint64_t bulk_next(void) {
	uint64_t z = (bulk_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static int64_t bulk_int(int64_t n) { return (int64_t)(bulk_next() % (uint64_t)(2 * n + 1)) - n; } // uniform in [-n, n]
static void bulk_row(int r, float *x) {
	int e = 8 + (int)(bulk_next() % 12);
	for (int j = 0; j < BULK_K; j++) {
		int64_t v;
		int ej = e;
		switch (r % 6) {
		case 0: v = bulk_int(10000); break;
		case 1: v = bulk_int(10000) + bulk_int(10000) + bulk_int(10000); break;
		case 2: v = (bulk_next() % 23 == 0) ? bulk_int(1000000) : bulk_int(100); break;
		case 3: v = 20000 + bulk_int(3000); break;
		case 4: v = bulk_int(16) * 256; ej = 11; break;
		default: v = bulk_int(10000); ej = e + (j / 32) % 4 * 3; break;
		}
		x[j] = (float)ldexp((double)v, -ej);
	}
}
static void bulk(const struct type_traits *(*traits)(int), const struct type_traits_cpu *(*traits_cpu)(int),
		size_t (*quantize_chunk)(int, const float *, void *, int64_t, int64_t, int64_t, const float *)) {
	static float x[BULK_K];
	static uint8_t buf[BULK_K * 4];
	static uint64_t h[BULK_ROWS];
	const int types[] = {0, 1, 30, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14};
	const int acts[] = {8, 9, 15};
	for (size_t ti = 0; ti < sizeof types / sizeof types[0] + sizeof acts / sizeof acts[0]; ti++) {
		bool act = ti >= sizeof types / sizeof types[0];
		int t = act ? acts[ti - sizeof types / sizeof types[0]] : types[ti];
		bulk_state = 12345;
		for (int r = 0; r < BULK_ROWS; r++) {
			bulk_row(r, x);
			memset(buf, 0, sizeof buf);
			if (act) traits_cpu(t)->from_float(x, buf, BULK_K);
			else quantize_chunk(t, x, buf, 0, 1, BULK_K, NULL);
			h[r] = fnv64(buf, row_size(t, BULK_K));
		}
		char name[128];
		snprintf(name, sizeof name, "bulk/%s/%s", act ? "act" : "quant", traits(t)->type_name);
		record(name, h, sizeof h);
	}
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: ggml_oracle LIBDIR VARIANT (e.g. haswell)\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/libggml-base.so", argv[1]);
	base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!base) { fprintf(stderr, "%s\n", dlerror()); return 1; }
	snprintf(path, sizeof path, "%s/libggml-cpu-%s.so", argv[1], argv[2]);
	cpu = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!cpu) { fprintf(stderr, "%s\n", dlerror()); return 1; }
	((void (*)(void))sym(cpu, "ggml_cpu_init"))();

	const struct type_traits *(*traits)(int) = sym(base, "ggml_get_type_traits");
	const struct type_traits_cpu *(*traits_cpu)(int) = sym(cpu, "ggml_get_type_traits_cpu");
	size_t (*quantize_chunk)(int, const float *, void *, int64_t, int64_t, int64_t, const float *) = sym(base, "ggml_quantize_chunk");

	// The type table, so the Go side can check its own.
	{
		int64_t (*blck_size)(int) = sym(base, "ggml_blck_size");
		size_t (*type_size)(int) = sym(base, "ggml_type_size");
		const char *(*type_name)(int) = sym(base, "ggml_type_name");
		char buf[8192];
		size_t n = 0;
		for (int t = 0; t < 43; t++) {
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%d %s %ld %zu\n", t, type_name(t), (long)blck_size(t), type_size(t));
		}
		record("types", buf, n);
	}

	// f32 -> f16 / bf16 conversions on edge values.
	{
		float v[4096];
		int n = 0;
		const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.0f, 65520.0f, 70000.0f, 1e30f, INFINITY, -INFINITY,
			5.960464477539063e-08f, 2.98023223876953125e-08f, 2.9802326e-08f, 1e-8f, 6.103515625e-05f, 6.1035156e-05f,
			0.333333333f, 1.0009765625f, 1.00048828125f, 1.00146484375f, 3.4028235e38f, 1.17549435e-38f, 1e-45f};
		for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) v[n++] = special[i];
		while (n < 4096) {
			uint32_t bits = (uint32_t)next64();
			float f;
			memcpy(&f, &bits, 4);
			if (isnan(f)) continue;
			if (n % 3 == 0) f = (float)(gauss() * pow(2.0, (double)(int)(uniform() * 40 - 25)));
			v[n++] = f;
		}
		uint16_t h[4096], hc[4096], b[4096], bc[4096];
		((void (*)(const float *, uint16_t *, int64_t))sym(base, "ggml_fp32_to_fp16_row"))(v, h, n);
		((void (*)(const float *, uint16_t *, int64_t))sym(cpu, "ggml_cpu_fp32_to_fp16"))(v, hc, n);
		((void (*)(const float *, uint16_t *, int64_t))sym(base, "ggml_fp32_to_bf16_row_ref"))(v, b, n);
		((void (*)(const float *, uint16_t *, int64_t))sym(cpu, "ggml_cpu_fp32_to_bf16"))(v, bc, n);
		record("conv/f32", v, sizeof v);
		record("conv/f16", h, sizeof h);
		record("conv/f16cpu", hc, sizeof hc);
		record("conv/bf16", b, sizeof b);
		record("conv/bf16cpu", bc, sizeof bc);
	}

	static float w[WROWS * K], a[AROWS * K], deq[WROWS * K];
	fill_weights(w);
	fill_acts(a);
	record("weights", w, sizeof w);
	record("acts", a, sizeof a);

	const int types[] = {0, 1, 30, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14};
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		int t = types[ti];
		const struct type_traits *tt = traits(t);
		const struct type_traits_cpu *tc = traits_cpu(t);
		char name[128];
		size_t wrs = row_size(t, K);
		uint8_t *q = calloc(WROWS, wrs);
		quantize_chunk(t, w, q, 0, WROWS, K, NULL);
		snprintf(name, sizeof name, "%s/quant", tt->type_name);
		record(name, q, WROWS * wrs);

		if (tt->to_float) {
			for (int r = 0; r < WROWS; r++) tt->to_float(q + r * wrs, deq + r * K, K);
		} else { // f32
			memcpy(deq, w, sizeof w);
		}
		// The dequantised rows are large and follow from the quantised
		// bytes, so only their FNV-1a 64 hash is kept.
		uint64_t hash = 0xcbf29ce484222325ull;
		for (size_t i = 0; i < sizeof deq; i++) {
			hash ^= ((const uint8_t *)deq)[i];
			hash *= 0x100000001b3ull;
		}
		snprintf(name, sizeof name, "%s/dequant_fnv64", tt->type_name);
		record(name, &hash, 8);

		int vt = tc->vec_dot_type;
		snprintf(name, sizeof name, "%s/vec_dot_type", tt->type_name);
		record(name, &vt, 4);
		size_t ars = row_size(vt, K);
		uint8_t *xq = calloc(AROWS, ars);
		from_float_t ff = traits_cpu(vt)->from_float;
		for (int r = 0; r < AROWS; r++) {
			if (vt == 0) memcpy(xq + r * ars, a + r * K, ars);
			else ff(a + r * K, xq + r * ars, K);
		}
		snprintf(name, sizeof name, "%s/actq", tt->type_name);
		record(name, xq, AROWS * ars);

		float dots[WROWS * AROWS];
		for (int r = 0; r < WROWS; r++)
			for (int c = 0; c < AROWS; c++)
				tc->vec_dot(K, &dots[r * AROWS + c], 0, q + r * wrs, 0, xq + c * ars, 0, 1);
		snprintf(name, sizeof name, "%s/dot", tt->type_name);
		record(name, dots, sizeof dots);
		free(q);
		free(xq);
	}
	bulk(traits, traits_cpu, quantize_chunk);
	fflush(stdout);
	return 0;
}
