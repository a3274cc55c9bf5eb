// gguf_dump loads a GGUF file with llama.cpp's own reader (libggml-base,
// from the node-llama-cpp package in tools/oracle) and prints what it
// read, one line per fact, so that a Go test can compare it with what
// engine/gguf wrote. With -write it first writes FILE with llama.cpp's
// own writer, for the other direction. Built by gguf's tests when gcc is
// available.
//
//   gcc -o gguf_dump gguf_dump.c -ldl && ./gguf_dump LIBDIR [-write] FILE
#include <dlfcn.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gguf_init_params {
	bool no_alloc;
	void **ctx;
};

static void *lib;
static void *sym(const char *name) {
	void *p = dlsym(lib, name);
	if (!p) {
		fprintf(stderr, "missing %s\n", name);
		exit(2);
	}
	return p;
}

static void scalar(int type, const void *p) {
	switch (type) {
	case 0: printf("%u", *(const uint8_t *)p); break;
	case 1: printf("%d", *(const int8_t *)p); break;
	case 2: printf("%u", *(const uint16_t *)p); break;
	case 3: printf("%d", *(const int16_t *)p); break;
	case 4: printf("%u", *(const uint32_t *)p); break;
	case 5: printf("%d", *(const int32_t *)p); break;
	case 6: printf("%.9g", *(const float *)p); break;
	case 7: printf("%s", *(const int8_t *)p ? "true" : "false"); break;
	case 10: printf("%" PRIu64, *(const uint64_t *)p); break;
	case 11: printf("%" PRId64, *(const int64_t *)p); break;
	case 12: printf("%.17g", *(const double *)p); break;
	}
}

static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

struct ggml_init_params {
	size_t mem_size;
	void *mem_buffer;
	bool no_alloc;
};

// write makes a file with llama.cpp's writer: metadata of several types,
// and three tensors with patterned data. (Setting general.alignment here
// makes a file llama.cpp itself refuses: its writer keeps the offsets of
// the default alignment.)
static void write(const char *file) {
	void *(*init_empty)(void) = sym("gguf_init_empty");
	void *g = init_empty();
	((void (*)(void *, const char *, uint32_t))sym("gguf_set_val_u32"))(g, "w.u32", 64);
	((void (*)(void *, const char *, const char *))sym("gguf_set_val_str"))(g, "general.architecture", "llama");
	((void (*)(void *, const char *, uint8_t))sym("gguf_set_val_u8"))(g, "w.u8", 7);
	((void (*)(void *, const char *, int16_t))sym("gguf_set_val_i16"))(g, "w.i16", -300);
	((void (*)(void *, const char *, float))sym("gguf_set_val_f32"))(g, "w.f32", 0.1f);
	((void (*)(void *, const char *, double))sym("gguf_set_val_f64"))(g, "w.f64", -2.5);
	((void (*)(void *, const char *, bool))sym("gguf_set_val_bool"))(g, "w.bool", true);
	((void (*)(void *, const char *, uint64_t))sym("gguf_set_val_u64"))(g, "w.u64", 1ull << 40);
	int32_t ints[] = {1, -2, 3};
	((void (*)(void *, const char *, int, const void *, size_t))sym("gguf_set_arr_data"))(g, "w.ints", 5, ints, 3);
	const char *strs[] = {"hello", "", "wörld"};
	((void (*)(void *, const char *, const char **, size_t))sym("gguf_set_arr_str"))(g, "w.strs", strs, 3);

	struct ggml_init_params ip = {1 << 20, NULL, false};
	void *ctx = ((void *(*)(struct ggml_init_params))sym("ggml_init"))(ip);
	void *(*new_tensor)(void *, int, int, const int64_t *) = sym("ggml_new_tensor");
	void *(*set_name)(void *, const char *) = sym("ggml_set_name");
	void *(*get_data)(const void *) = sym("ggml_get_data");
	size_t (*nbytes)(const void *) = sym("ggml_nbytes");
	void (*add)(void *, const void *) = sym("gguf_add_tensor");
	struct { const char *name; int type; int n; int64_t ne[4]; } ts[] = {
		{"a.weight", 0, 2, {3, 5}}, {"b.weight", 8, 2, {64, 2}}, {"c.weight", 12, 1, {256}},
	};
	for (int i = 0; i < 3; i++) {
		void *t = new_tensor(ctx, ts[i].type, ts[i].n, ts[i].ne);
		set_name(t, ts[i].name);
		uint8_t *d = get_data(t);
		for (size_t j = 0; j < nbytes(t); j++) d[j] = (uint8_t)(j * 13 + i);
		add(g, t);
	}
	if (!((bool (*)(void *, const char *, bool))sym("gguf_write_to_file"))(g, file, false)) {
		fprintf(stderr, "write failed\n");
		exit(2);
	}
}

int main(int argc, char **argv) {
	if (argc != 3 && !(argc == 4 && !strcmp(argv[2], "-write"))) {
		fprintf(stderr, "usage: gguf_dump LIBDIR [-write] FILE\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/libggml-base.so", argv[1]);
	lib = dlopen(path, RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "%s\n", dlerror());
		return 2;
	}
	if (argc == 4) {
		write(argv[3]);
		argv[2] = argv[3];
	}
	void *(*init)(const char *, struct gguf_init_params) = sym("gguf_init_from_file");
	void *gctx = NULL;
	struct gguf_init_params params = {true, &gctx};
	void *ctx = init(argv[2], params);
	if (!ctx) {
		printf("load failed\n");
		return 1;
	}
	printf("version %u\n", ((uint32_t(*)(void *))sym("gguf_get_version"))(ctx));
	printf("alignment %zu\n", ((size_t(*)(void *))sym("gguf_get_alignment"))(ctx));
	printf("data_offset %zu\n", ((size_t(*)(void *))sym("gguf_get_data_offset"))(ctx));
	int64_t nkv = ((int64_t(*)(void *))sym("gguf_get_n_kv"))(ctx);
	const char *(*key)(void *, int64_t) = sym("gguf_get_key");
	int (*kv_type)(void *, int64_t) = sym("gguf_get_kv_type");
	int (*arr_type)(void *, int64_t) = sym("gguf_get_arr_type");
	size_t (*arr_n)(void *, int64_t) = sym("gguf_get_arr_n");
	const void *(*arr_data)(void *, int64_t) = sym("gguf_get_arr_data");
	const char *(*arr_str)(void *, int64_t, size_t) = sym("gguf_get_arr_str");
	const void *(*val_data)(void *, int64_t) = sym("gguf_get_val_data");
	const char *(*val_str)(void *, int64_t) = sym("gguf_get_val_str");
	for (int64_t i = 0; i < nkv; i++) {
		int t = kv_type(ctx, i);
		printf("kv %s %d ", key(ctx, i), t);
		if (t == 8) {
			printf("[%s]", val_str(ctx, i));
		} else if (t == 9) {
			int at = arr_type(ctx, i);
			size_t n = arr_n(ctx, i);
			printf("%d %zu", at, n);
			for (size_t j = 0; j < n; j++) {
				printf(" ");
				if (at == 8) printf("[%s]", arr_str(ctx, i, j));
				else scalar(at, (const char *)arr_data(ctx, i) + j * sizes[at]);
			}
		} else {
			scalar(t, val_data(ctx, i));
		}
		printf("\n");
	}
	int64_t nt = ((int64_t(*)(void *))sym("gguf_get_n_tensors"))(ctx);
	const char *(*tname)(void *, int64_t) = sym("gguf_get_tensor_name");
	int (*ttype)(void *, int64_t) = sym("gguf_get_tensor_type");
	size_t (*toff)(void *, int64_t) = sym("gguf_get_tensor_offset");
	size_t (*tsize)(void *, int64_t) = sym("gguf_get_tensor_size");
	void *(*get_tensor)(void *, const char *) = sym("ggml_get_tensor");
	int64_t (*nelements)(const void *) = sym("ggml_nelements");
	for (int64_t i = 0; i < nt; i++) {
		// struct ggml_tensor starts with its type, a buffer pointer and ne[4].
		const char *t = (const char *)get_tensor(gctx, tname(ctx, i));
		const int64_t *ne = (const int64_t *)(t + 16);
		if (ne[0] * ne[1] * ne[2] * ne[3] != nelements(t)) {
			fprintf(stderr, "unexpected ggml_tensor layout\n");
			return 2;
		}
		printf("tensor %s %d %zu %zu %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", tname(ctx, i), ttype(ctx, i),
			toff(ctx, i), tsize(ctx, i), ne[0], ne[1], ne[2], ne[3]);
	}
	return 0;
}
