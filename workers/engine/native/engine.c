/*
 * webinfer's WebAssembly SIMD engine for decoder-only language models.
 *
 * Built with Debian's clang-19 for wasm32 (scripts/build-engine.sh), in four variants:
 *   engine-st.wasm       one thread, SIMD128
 *   engine-st-rx.wasm    one thread, SIMD128 + relaxed SIMD (f32x4.relaxed_madd = FMA)
 *   engine-mt.wasm       threads (shared memory, atomics), SIMD128
 *   engine-mt-rx.wasm    threads + relaxed SIMD
 *
 * No libc and no data segments: the module is pure code over one imported memory, so every
 * thread instantiates it over the same shared memory without clobbering anything. The caller
 * (the TypeScript side, workers/engine/) lays out weights, caches and scratch buffers in that memory and passes
 * their addresses; this file never allocates.
 *
 * Weights of a linear layer y = x·W + b (W: K inputs × N outputs) are stored in *panels* of 8
 * output columns: panel p holds columns 8p…8p+7 for every k, [N/8][K][8]. One layout serves
 * the one-token product (decode: stream the panels once) and the many-token product (prefill:
 * a micro-kernel of 4 tokens × 8 columns reuses every weight load 4 times). Weights are float32,
 * or int8 / int4 with one float32 scale per column and group of G consecutive k (symmetric:
 * w = q · scale), dequantized in registers as the product runs: they stay 8- or 4-bit in memory.
 *
 * Threads: every thread runs the same forward pass; each op takes its share (panels of a linear
 * layer, heads of attention, rows of a norm) by thread id, and a barrier separates ops.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

#ifdef WI_RELAXED
#define MADD(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (c))
#endif

typedef uint32_t u32;

/* ---- libc bits the compiler may call (bulk memory instructions) ------------------------- */

void *memcpy(void *dst, const void *src, unsigned long n) {
  __builtin_memcpy(dst, src, n);
  return dst;
}
void *memset(void *dst, int c, unsigned long n) {
  __builtin_memset(dst, c, n);
  return dst;
}

/* ---- threads ------------------------------------------------------------------------------ */

/* The control block, at an address the caller gives (64-byte aligned, zeroed). */
typedef struct {
  volatile int32_t job_gen;   /* bumped by thread 0 to start a job */
  volatile int32_t job;       /* what to run */
  volatile int32_t nthreads;  /* threads taking part (1 = no helpers) */
  volatile int32_t bar_count; /* barrier: arrivals */
  volatile int32_t bar_gen;   /* barrier: generation */
  volatile int32_t pad[3];
  volatile u32 args[24];      /* the job's arguments (addresses and sizes) */
} ctl_t;

enum { JOB_NONE = 0, JOB_EXIT = 1, JOB_GPT2 = 2, JOB_LINEAR = 3, JOB_BANDWIDTH = 4 };

#ifdef WI_THREADS
#define SPIN_LIMIT 20000
static void barrier(ctl_t *c) {
  int32_t n = c->nthreads;
  if (n <= 1) return;
  int32_t gen = __atomic_load_n(&c->bar_gen, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&c->bar_count, 1, __ATOMIC_ACQ_REL) == n) {
    __atomic_store_n(&c->bar_count, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->bar_gen, 1, __ATOMIC_ACQ_REL);
    __builtin_wasm_memory_atomic_notify((int32_t *)&c->bar_gen, (u32)n);
  } else {
    int spins = 0;
    while (__atomic_load_n(&c->bar_gen, __ATOMIC_ACQUIRE) == gen) {
      if (++spins > SPIN_LIMIT) __builtin_wasm_memory_atomic_wait32((int32_t *)&c->bar_gen, gen, 1000000LL);
    }
  }
}
#else
static void barrier(ctl_t *c) { (void)c; }
#endif

/* The share [lo, hi) of `n` items for thread `tid`. */
static inline void share(int n, int tid, int nt, int *lo, int *hi) {
  int per = n / nt, extra = n % nt;
  *lo = tid * per + (tid < extra ? tid : extra);
  *hi = *lo + per + (tid < extra ? 1 : 0);
}

/* ---- math --------------------------------------------------------------------------------- */

/* exp(x) for x ≤ 0 (softmax) and general x (tanh), float32: range reduction by ln 2, degree-6
 * polynomial; relative error below 2e-7 on [-87, 88]. */
static inline float expf_(float x) {
  if (x < -87.0f) return 0.0f;
  if (x > 88.0f) x = 88.0f;
  float k = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { float f; int32_t i; } u;
  u.i = ((int32_t)k + 127) << 23;
  return p * u.f;
}

/* GPT-2's tanh GELU: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). */
static inline float gelu_(float x) {
  float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  /* tanh(u) = 1 - 2 / (exp(2u) + 1), stable for large |u| with the clamp in expf_. */
  float t = 1.0f - 2.0f / (expf_(2.0f * u) + 1.0f);
  return 0.5f * x * (1.0f + t);
}

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

/* ---- linear layers ------------------------------------------------------------------------ */

enum { W_F32 = 0, W_Q8 = 1, W_Q4 = 2 };
enum { EPI_STORE = 0, EPI_GELU = 1, EPI_ADD = 2 };

typedef struct {
  const float *x; /* [T][K] */
  int T, K, N;    /* N: real output columns (panels cover ceil(N/8)*8) */
  const void *w;  /* panels */
  const float *s; /* scales [N/8][K/G][8] (quantized) */
  int G;          /* group size along K (quantized) */
  int kind;       /* W_F32, W_Q8, W_Q4 */
  const float *b; /* bias [N] or 0 */
  float *y;       /* [T][ldy] */
  int ldy;
  int epi;        /* EPI_STORE: y = xW+b; EPI_GELU: y = gelu(xW+b); EPI_ADD: y += xW+b */
} lin_t;

/* Writes the 8 columns of panel p for token t. */
static inline void epilogue(const lin_t *L, int t, int p, v128_t a0, v128_t a1) {
  int n0 = p * 8;
  float v[8];
  wasm_v128_store(v, a0);
  wasm_v128_store(v + 4, a1);
  int cols = L->N - n0 < 8 ? L->N - n0 : 8;
  float *y = L->y + (long)t * L->ldy + n0;
  for (int c = 0; c < cols; c++) {
    float r = v[c] + (L->b ? L->b[n0 + c] : 0.0f);
    if (L->epi == EPI_GELU) r = gelu_(r);
    if (L->epi == EPI_ADD) y[c] += r;
    else y[c] = r;
  }
}

/* float32 panels: 4 tokens × 8 columns at a time. */
static void lin_f32(const lin_t *L, int p0, int p1) {
  const int K = L->K;
  for (int p = p0; p < p1; p++) {
    const float *w = (const float *)L->w + (long)p * K * 8;
    int t = 0;
    for (; t + 4 <= L->T; t += 4) {
      const float *x0 = L->x + (long)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int k = 0; k < K; k++) {
        v128_t w0 = wasm_v128_load(w + k * 8), w1 = wasm_v128_load(w + k * 8 + 4);
        v128_t s0 = wasm_v128_load32_splat(x0 + k), s1 = wasm_v128_load32_splat(x1 + k);
        v128_t s2 = wasm_v128_load32_splat(x2 + k), s3 = wasm_v128_load32_splat(x3 + k);
        a00 = MADD(s0, w0, a00); a01 = MADD(s0, w1, a01);
        a10 = MADD(s1, w0, a10); a11 = MADD(s1, w1, a11);
        a20 = MADD(s2, w0, a20); a21 = MADD(s2, w1, a21);
        a30 = MADD(s3, w0, a30); a31 = MADD(s3, w1, a31);
      }
      epilogue(L, t, p, a00, a01); epilogue(L, t + 1, p, a10, a11);
      epilogue(L, t + 2, p, a20, a21); epilogue(L, t + 3, p, a30, a31);
    }
    for (; t < L->T; t++) {
      const float *x0 = L->x + (long)t * K;
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0, b0 = a0, b1 = a0;
      int k = 0;
      for (; k + 2 <= K; k += 2) {
        v128_t s0 = wasm_v128_load32_splat(x0 + k), s1 = wasm_v128_load32_splat(x0 + k + 1);
        a0 = MADD(s0, wasm_v128_load(w + k * 8), a0);
        a1 = MADD(s0, wasm_v128_load(w + k * 8 + 4), a1);
        b0 = MADD(s1, wasm_v128_load(w + k * 8 + 8), b0);
        b1 = MADD(s1, wasm_v128_load(w + k * 8 + 12), b1);
      }
      for (; k < K; k++) {
        v128_t s0 = wasm_v128_load32_splat(x0 + k);
        a0 = MADD(s0, wasm_v128_load(w + k * 8), a0);
        a1 = MADD(s0, wasm_v128_load(w + k * 8 + 4), a1);
      }
      epilogue(L, t, p, wasm_f32x4_add(a0, b0), wasm_f32x4_add(a1, b1));
    }
  }
}

/* 8 int8 weights (one k row of a panel) as two float32x4. */
static inline void q8_row(const int8_t *q, v128_t *lo, v128_t *hi) {
  v128_t b = wasm_v128_load64_zero(q);
  v128_t h = wasm_i16x8_extend_low_i8x16(b);
  *lo = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(h));
  *hi = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(h));
}

/* int8 panels [N/8][K][8], scales [N/8][K/G][8]: group sums in registers, scaled at the group end. */
static void lin_q8(const lin_t *L, int p0, int p1) {
  const int K = L->K, G = L->G, ng = K / G;
  for (int p = p0; p < p1; p++) {
    const int8_t *w = (const int8_t *)L->w + (long)p * K * 8;
    const float *sc = L->s + (long)p * ng * 8;
    int t = 0;
    for (; t + 4 <= L->T; t += 4) {
      const float *x0 = L->x + (long)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int g = 0; g < ng; g++) {
        v128_t g00 = wasm_f32x4_splat(0), g01 = g00, g10 = g00, g11 = g00, g20 = g00, g21 = g00, g30 = g00, g31 = g00;
        for (int k = g * G; k < (g + 1) * G; k++) {
          v128_t w0, w1;
          q8_row(w + k * 8, &w0, &w1);
          v128_t s0 = wasm_v128_load32_splat(x0 + k), s1 = wasm_v128_load32_splat(x1 + k);
          v128_t s2 = wasm_v128_load32_splat(x2 + k), s3 = wasm_v128_load32_splat(x3 + k);
          g00 = MADD(s0, w0, g00); g01 = MADD(s0, w1, g01);
          g10 = MADD(s1, w0, g10); g11 = MADD(s1, w1, g11);
          g20 = MADD(s2, w0, g20); g21 = MADD(s2, w1, g21);
          g30 = MADD(s3, w0, g30); g31 = MADD(s3, w1, g31);
        }
        v128_t c0 = wasm_v128_load(sc + g * 8), c1 = wasm_v128_load(sc + g * 8 + 4);
        a00 = MADD(g00, c0, a00); a01 = MADD(g01, c1, a01);
        a10 = MADD(g10, c0, a10); a11 = MADD(g11, c1, a11);
        a20 = MADD(g20, c0, a20); a21 = MADD(g21, c1, a21);
        a30 = MADD(g30, c0, a30); a31 = MADD(g31, c1, a31);
      }
      epilogue(L, t, p, a00, a01); epilogue(L, t + 1, p, a10, a11);
      epilogue(L, t + 2, p, a20, a21); epilogue(L, t + 3, p, a30, a31);
    }
    for (; t < L->T; t++) {
      const float *x0 = L->x + (long)t * K;
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
      for (int g = 0; g < ng; g++) {
        v128_t g0 = wasm_f32x4_splat(0), g1 = g0, h0 = g0, h1 = g0;
        int k = g * G, end = (g + 1) * G;
        for (; k + 2 <= end; k += 2) {
          v128_t w0, w1, w2, w3;
          q8_row(w + k * 8, &w0, &w1);
          q8_row(w + k * 8 + 8, &w2, &w3);
          v128_t s0 = wasm_v128_load32_splat(x0 + k), s1 = wasm_v128_load32_splat(x0 + k + 1);
          g0 = MADD(s0, w0, g0); g1 = MADD(s0, w1, g1);
          h0 = MADD(s1, w2, h0); h1 = MADD(s1, w3, h1);
        }
        for (; k < end; k++) {
          v128_t w0, w1;
          q8_row(w + k * 8, &w0, &w1);
          v128_t s0 = wasm_v128_load32_splat(x0 + k);
          g0 = MADD(s0, w0, g0); g1 = MADD(s0, w1, g1);
        }
        a0 = MADD(wasm_f32x4_add(g0, h0), wasm_v128_load(sc + g * 8), a0);
        a1 = MADD(wasm_f32x4_add(g1, h1), wasm_v128_load(sc + g * 8 + 4), a1);
      }
      epilogue(L, t, p, a0, a1);
    }
  }
}

/* Two k rows of an int4 panel (8 bytes: low nibbles = row k, high nibbles = row k+1; value − 8). */
static inline void q4_rows(const uint8_t *q, v128_t *r0lo, v128_t *r0hi, v128_t *r1lo, v128_t *r1hi) {
  v128_t b = wasm_v128_load64_zero(q);
  v128_t lo = wasm_v128_and(b, wasm_i8x16_splat(0x0f));
  v128_t hi = wasm_u8x16_shr(b, 4);
  v128_t eight = wasm_i16x8_splat(8);
  v128_t l16 = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(lo), eight);
  v128_t h16 = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(hi), eight);
  *r0lo = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(l16));
  *r0hi = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(l16));
  *r1lo = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(h16));
  *r1hi = wasm_f32x4_convert_i32x4(wasm_i32x4_extend_high_i16x8(h16));
}

/* int4 panels [N/8][K/2][8] bytes, scales [N/8][K/G][8] (G even). */
static void lin_q4(const lin_t *L, int p0, int p1) {
  const int K = L->K, G = L->G, ng = K / G;
  for (int p = p0; p < p1; p++) {
    const uint8_t *w = (const uint8_t *)L->w + (long)p * (K / 2) * 8;
    const float *sc = L->s + (long)p * ng * 8;
    int t = 0;
    for (; t + 4 <= L->T; t += 4) {
      const float *x0 = L->x + (long)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int g = 0; g < ng; g++) {
        v128_t g00 = wasm_f32x4_splat(0), g01 = g00, g10 = g00, g11 = g00, g20 = g00, g21 = g00, g30 = g00, g31 = g00;
        for (int k = g * G; k < (g + 1) * G; k += 2) {
          v128_t u0, u1, v0, v1;
          q4_rows(w + (k / 2) * 8, &u0, &u1, &v0, &v1);
          v128_t s0 = wasm_v128_load32_splat(x0 + k), s1 = wasm_v128_load32_splat(x1 + k);
          v128_t s2 = wasm_v128_load32_splat(x2 + k), s3 = wasm_v128_load32_splat(x3 + k);
          g00 = MADD(s0, u0, g00); g01 = MADD(s0, u1, g01);
          g10 = MADD(s1, u0, g10); g11 = MADD(s1, u1, g11);
          g20 = MADD(s2, u0, g20); g21 = MADD(s2, u1, g21);
          g30 = MADD(s3, u0, g30); g31 = MADD(s3, u1, g31);
          s0 = wasm_v128_load32_splat(x0 + k + 1); s1 = wasm_v128_load32_splat(x1 + k + 1);
          s2 = wasm_v128_load32_splat(x2 + k + 1); s3 = wasm_v128_load32_splat(x3 + k + 1);
          g00 = MADD(s0, v0, g00); g01 = MADD(s0, v1, g01);
          g10 = MADD(s1, v0, g10); g11 = MADD(s1, v1, g11);
          g20 = MADD(s2, v0, g20); g21 = MADD(s2, v1, g21);
          g30 = MADD(s3, v0, g30); g31 = MADD(s3, v1, g31);
        }
        v128_t c0 = wasm_v128_load(sc + g * 8), c1 = wasm_v128_load(sc + g * 8 + 4);
        a00 = MADD(g00, c0, a00); a01 = MADD(g01, c1, a01);
        a10 = MADD(g10, c0, a10); a11 = MADD(g11, c1, a11);
        a20 = MADD(g20, c0, a20); a21 = MADD(g21, c1, a21);
        a30 = MADD(g30, c0, a30); a31 = MADD(g31, c1, a31);
      }
      epilogue(L, t, p, a00, a01); epilogue(L, t + 1, p, a10, a11);
      epilogue(L, t + 2, p, a20, a21); epilogue(L, t + 3, p, a30, a31);
    }
    for (; t < L->T; t++) {
      const float *x0 = L->x + (long)t * K;
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
      for (int g = 0; g < ng; g++) {
        v128_t g0 = wasm_f32x4_splat(0), g1 = g0, h0 = g0, h1 = g0;
        for (int k = g * G; k < (g + 1) * G; k += 2) {
          v128_t u0, u1, v0, v1;
          q4_rows(w + (k / 2) * 8, &u0, &u1, &v0, &v1);
          v128_t s0 = wasm_v128_load32_splat(x0 + k), s1 = wasm_v128_load32_splat(x0 + k + 1);
          g0 = MADD(s0, u0, g0); g1 = MADD(s0, u1, g1);
          h0 = MADD(s1, v0, h0); h1 = MADD(s1, v1, h1);
        }
        a0 = MADD(wasm_f32x4_add(g0, h0), wasm_v128_load(sc + g * 8), a0);
        a1 = MADD(wasm_f32x4_add(g1, h1), wasm_v128_load(sc + g * 8 + 4), a1);
      }
      epilogue(L, t, p, a0, a1);
    }
  }
}

/* This thread's share of a linear layer (by panels), then a barrier. */
static void linear(ctl_t *c, const lin_t *L, int tid) {
  int np = (L->N + 7) / 8, lo, hi;
  share(np, tid, c->nthreads, &lo, &hi);
  if (L->kind == W_Q8) lin_q8(L, lo, hi);
  else if (L->kind == W_Q4) lin_q4(L, lo, hi);
  else lin_f32(L, lo, hi);
  barrier(c);
}

/* Column `n` of a panel-stored matrix (the embedding row n of a tied head): K values into `out`. */
static void panel_column(const void *w, const float *s, int kind, int K, int G, int n, float *out) {
  int p = n / 8, c = n % 8;
  if (kind == W_F32) {
    const float *q = (const float *)w + (long)p * K * 8 + c;
    for (int k = 0; k < K; k++) out[k] = q[k * 8];
  } else if (kind == W_Q8) {
    const int8_t *q = (const int8_t *)w + (long)p * K * 8 + c;
    const float *sc = s + (long)p * (K / G) * 8 + c;
    for (int k = 0; k < K; k++) out[k] = (float)q[k * 8] * sc[(k / G) * 8];
  } else {
    const uint8_t *q = (const uint8_t *)w + (long)p * (K / 2) * 8 + c;
    const float *sc = s + (long)p * (K / G) * 8 + c;
    for (int k = 0; k < K; k++) {
      uint8_t b = q[(k / 2) * 8];
      int v = (k & 1) ? (b >> 4) : (b & 15);
      out[k] = (float)(v - 8) * sc[(k / G) * 8];
    }
  }
}

/* ---- norms and attention ------------------------------------------------------------------ */

static void layernorm_rows(const float *x, const float *g, const float *b, float *y, int r0, int r1, int C, float eps) {
  for (int r = r0; r < r1; r++) {
    const float *xr = x + (long)r * C;
    float *yr = y + (long)r * C;
    v128_t s = wasm_f32x4_splat(0);
    int j = 0;
    for (; j + 4 <= C; j += 4) s = wasm_f32x4_add(s, wasm_v128_load(xr + j));
    float mean = hsum(s);
    for (; j < C; j++) mean += xr[j];
    mean /= (float)C;
    v128_t m = wasm_f32x4_splat(mean), q = wasm_f32x4_splat(0);
    for (j = 0; j + 4 <= C; j += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + j), m);
      q = MADD(d, d, q);
    }
    float var = hsum(q);
    for (; j < C; j++) var += (xr[j] - mean) * (xr[j] - mean);
    float inv = 1.0f / __builtin_sqrtf(var / (float)C + eps);
    v128_t iv = wasm_f32x4_splat(inv);
    for (j = 0; j + 4 <= C; j += 4) {
      v128_t d = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + j), m), iv);
      wasm_v128_store(yr + j, MADD(d, wasm_v128_load(g + j), wasm_v128_load(b + j)));
    }
    for (; j < C; j++) yr[j] = (xr[j] - mean) * inv * g[j] + b[j];
  }
}

static void layernorm(ctl_t *c, const float *x, const float *g, const float *b, float *y, int T, int C, float eps, int tid) {
  int lo, hi;
  share(T, tid, c->nthreads, &lo, &hi);
  layernorm_rows(x, g, b, y, lo, hi, C, eps);
  barrier(c);
}

static inline float dot(const float *a, const float *b, int n) {
  v128_t s0 = wasm_f32x4_splat(0), s1 = s0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = MADD(wasm_v128_load(a + i), wasm_v128_load(b + i), s0);
    s1 = MADD(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4), s1);
  }
  float s = hsum(wasm_f32x4_add(s0, s1));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/*
 * Causal attention of T new tokens at positions start…start+T-1, heads [h0, h1):
 * their keys and values go into the caches ([H][P][hd] per layer), then each query attends to
 * every key up to its own position. `scores` holds P floats for this thread.
 */
static void attention_heads(const float *qkv, float *kc, float *vc, float *out, float *scores, int T, int start, int C, int hd, int P, int h0, int h1) {
  const float scale = 1.0f / __builtin_sqrtf((float)hd);
  for (int h = h0; h < h1; h++) {
    float *K = kc + (long)h * P * hd, *V = vc + (long)h * P * hd;
    for (int t = 0; t < T; t++) {
      const float *src = qkv + (long)t * 3 * C;
      __builtin_memcpy(K + (long)(start + t) * hd, src + C + h * hd, (unsigned long)hd * 4);
      __builtin_memcpy(V + (long)(start + t) * hd, src + 2 * C + h * hd, (unsigned long)hd * 4);
    }
    for (int t = 0; t < T; t++) {
      const float *q = qkv + (long)t * 3 * C + h * hd;
      int S = start + t + 1;
      float mx = -3.0e38f;
      for (int j = 0; j < S; j++) {
        float s = dot(q, K + (long)j * hd, hd) * scale;
        scores[j] = s;
        if (s > mx) mx = s;
      }
      float sum = 0.0f;
      for (int j = 0; j < S; j++) {
        float e = expf_(scores[j] - mx);
        scores[j] = e;
        sum += e;
      }
      float inv = 1.0f / sum;
      float *o = out + (long)t * C + h * hd;
      for (int d = 0; d + 4 <= hd; d += 4) wasm_v128_store(o + d, wasm_f32x4_splat(0));
      for (int j = 0; j < S; j++) {
        v128_t a = wasm_f32x4_splat(scores[j] * inv);
        const float *v = V + (long)j * hd;
        for (int d = 0; d + 4 <= hd; d += 4) wasm_v128_store(o + d, MADD(a, wasm_v128_load(v + d), wasm_v128_load(o + d)));
      }
    }
  }
}

/* ---- GPT-2 -------------------------------------------------------------------------------- */

/*
 * The model descriptor: u32 words laid out by workers/engine/gpt2.ts.
 *   0 L, 1 C, 2 H, 3 V, 4 P (n_positions), 5 kind (W_F32/W_Q8/W_Q4), 6 G, 7 eps (float bits),
 *   8 wte, 9 wte scales, 10 wpe, 11 ln_f.g, 12 ln_f.b, then 16 words per layer from word 16:
 *   ln1.g ln1.b attn.w attn.s attn.b proj.w proj.s proj.b ln2.g ln2.b fc.w fc.s fc.b fcp.w fcp.s fcp.b
 * The state descriptor: 0 kcache, 1 vcache (each [L][H][Pcap][hd]), 2 Pcap, 3 Tmax,
 *   4 x [Tmax][C], 5 h [Tmax][C], 6 qkv [Tmax][3C], 7 att [Tmax][C], 8 ff [Tmax][4C],
 *   9 scores [threads][Pcap], 10 logits [V], 11 row [C]
 */
enum { M_L, M_C, M_H, M_V, M_P, M_KIND, M_G, M_EPS, M_WTE, M_WTES, M_WPE, M_LNFG, M_LNFB, M_LAYERS = 16, M_PER_LAYER = 16 };
enum { L_LN1G, L_LN1B, L_ATTW, L_ATTS, L_ATTB, L_PROW, L_PROS, L_PROB, L_LN2G, L_LN2B, L_FCW, L_FCS, L_FCB, L_FPW, L_FPS, L_FPB };
enum { S_KC, S_VC, S_PCAP, S_TMAX, S_X, S_H, S_QKV, S_ATT, S_FF, S_SCORES, S_LOGITS, S_ROW };

#define PTR(type, word) ((type)(uintptr_t)(word))

static void gpt2_forward(ctl_t *c, int tid) {
  const u32 *m = PTR(const u32 *, c->args[0]);
  const u32 *st = PTR(const u32 *, c->args[1]);
  const int32_t *ids = PTR(const int32_t *, c->args[2]);
  const int T = (int)c->args[3], start = (int)c->args[4], want_logits = (int)c->args[5];
  const int L = (int)m[M_L], C = (int)m[M_C], H = (int)m[M_H], V = (int)m[M_V], kind = (int)m[M_KIND], G = (int)m[M_G];
  union { u32 u; float f; } epsu;
  epsu.u = m[M_EPS];
  const float eps = epsu.f;
  const int hd = C / H, P = (int)st[S_PCAP];
  float *x = PTR(float *, st[S_X]), *h = PTR(float *, st[S_H]), *qkv = PTR(float *, st[S_QKV]), *att = PTR(float *, st[S_ATT]), *ff = PTR(float *, st[S_FF]);
  const int nt = c->nthreads;

  /* Embeddings: token row of wte (a column of the tied head's panels) + position row of wpe. */
  {
    int lo, hi;
    share(T, tid, nt, &lo, &hi);
    const float *wpe = PTR(const float *, m[M_WPE]);
    for (int t = lo; t < hi; t++) {
      float *xt = x + (long)t * C;
      panel_column(PTR(const void *, m[M_WTE]), PTR(const float *, m[M_WTES]), kind, C, G, ids[t], xt);
      const float *pe = wpe + (long)(start + t) * C;
      for (int j = 0; j < C; j++) xt[j] += pe[j];
    }
    barrier(c);
  }
  for (int l = 0; l < L; l++) {
    const u32 *w = m + M_LAYERS + l * M_PER_LAYER;
    float *kc = PTR(float *, st[S_KC]) + (long)l * H * P * hd, *vc = PTR(float *, st[S_VC]) + (long)l * H * P * hd;
    layernorm(c, x, PTR(const float *, w[L_LN1G]), PTR(const float *, w[L_LN1B]), h, T, C, eps, tid);
    lin_t a = { h, T, C, 3 * C, PTR(const void *, w[L_ATTW]), PTR(const float *, w[L_ATTS]), G, kind, PTR(const float *, w[L_ATTB]), qkv, 3 * C, EPI_STORE };
    linear(c, &a, tid);
    {
      int lo, hi;
      share(H, tid, nt, &lo, &hi);
      attention_heads(qkv, kc, vc, att, PTR(float *, st[S_SCORES]) + (long)tid * P, T, start, C, hd, P, lo, hi);
      barrier(c);
    }
    lin_t pr = { att, T, C, C, PTR(const void *, w[L_PROW]), PTR(const float *, w[L_PROS]), G, kind, PTR(const float *, w[L_PROB]), x, C, EPI_ADD };
    linear(c, &pr, tid);
    layernorm(c, x, PTR(const float *, w[L_LN2G]), PTR(const float *, w[L_LN2B]), h, T, C, eps, tid);
    lin_t fc = { h, T, C, 4 * C, PTR(const void *, w[L_FCW]), PTR(const float *, w[L_FCS]), G, kind, PTR(const float *, w[L_FCB]), ff, 4 * C, EPI_GELU };
    linear(c, &fc, tid);
    lin_t fp = { ff, T, 4 * C, C, PTR(const void *, w[L_FPW]), PTR(const float *, w[L_FPS]), G, kind, PTR(const float *, w[L_FPB]), x, C, EPI_ADD };
    linear(c, &fp, tid);
  }
  if (want_logits) {
    float *row = PTR(float *, st[S_ROW]);
    if (tid == 0) layernorm_rows(x + (long)(T - 1) * C, PTR(const float *, m[M_LNFG]), PTR(const float *, m[M_LNFB]), row, 0, 1, C, eps);
    barrier(c);
    lin_t head = { row, 1, C, V, PTR(const void *, m[M_WTE]), PTR(const float *, m[M_WTES]), G, kind, 0, PTR(float *, st[S_LOGITS]), V, EPI_STORE };
    linear(c, &head, tid);
  }
}

/* ---- jobs --------------------------------------------------------------------------------- */

static float bandwidth_part(const float *p, int n) {
  v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (int i = 0; i + 16 <= n; i += 16) {
    a0 = wasm_f32x4_add(a0, wasm_v128_load(p + i));
    a1 = wasm_f32x4_add(a1, wasm_v128_load(p + i + 4));
    a2 = wasm_f32x4_add(a2, wasm_v128_load(p + i + 8));
    a3 = wasm_f32x4_add(a3, wasm_v128_load(p + i + 12));
  }
  return hsum(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)));
}

static void run_job(ctl_t *c, int tid) {
  switch (c->job) {
    case JOB_GPT2:
      gpt2_forward(c, tid);
      break;
    case JOB_LINEAR: {
      lin_t L = { PTR(const float *, c->args[0]), (int)c->args[1], (int)c->args[2], (int)c->args[3], PTR(const void *, c->args[4]), PTR(const float *, c->args[5]),
                  (int)c->args[6], (int)c->args[7], PTR(const float *, c->args[8]), PTR(float *, c->args[9]), (int)c->args[10], (int)c->args[11] };
      linear(c, &L, tid);
      break;
    }
    case JOB_BANDWIDTH: {
      /* A streaming read of n floats, split between threads; the sums go to args[2 + tid]. */
      int lo, hi;
      int blocks = (int)c->args[1] / 16;
      share(blocks, tid, c->nthreads, &lo, &hi);
      union { float f; u32 u; } r;
      r.f = bandwidth_part(PTR(const float *, c->args[0]) + (long)lo * 16, (hi - lo) * 16);
      c->args[2 + tid] = r.u;
      barrier(c);
      break;
    }
    default:
      break;
  }
}

/* Thread 0 (the caller's thread): runs job `job` with every helper thread, returns when all are done. */
EXPORT(wi_run) void wi_run(ctl_t *c, int job) {
  c->job = job;
#ifdef WI_THREADS
  if (c->nthreads > 1) {
    __atomic_add_fetch(&c->job_gen, 1, __ATOMIC_ACQ_REL);
    __builtin_wasm_memory_atomic_notify((int32_t *)&c->job_gen, (u32)(c->nthreads - 1));
  }
#endif
  run_job(c, 0);
}

#ifdef WI_THREADS
/* A helper thread's life: wait for a job, take its share, repeat until JOB_EXIT. Helpers start
 * before the first job is handed out (job_gen is still 0 then), so a job bumped before this
 * thread got here is not missed. */
EXPORT(wi_thread) void wi_thread(ctl_t *c, int tid) {
  int32_t seen = 0;
  for (;;) {
    int spins = 0;
    while (__atomic_load_n(&c->job_gen, __ATOMIC_ACQUIRE) == seen) {
      if (++spins > SPIN_LIMIT) __builtin_wasm_memory_atomic_wait32((int32_t *)&c->job_gen, seen, -1LL);
    }
    seen = __atomic_load_n(&c->job_gen, __ATOMIC_ACQUIRE);
    if (c->job == JOB_EXIT) return;
    run_job(c, tid);
  }
}
#endif

/* Layout facts the TypeScript side checks at start-up. */
EXPORT(wi_abi) int wi_abi(void) { return 1; }
EXPORT(wi_ctl_size) int wi_ctl_size(void) { return (int)sizeof(ctl_t); }
