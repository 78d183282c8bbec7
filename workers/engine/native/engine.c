/*
 * webinfer's WebAssembly SIMD engine for decoder-only language models and small convolutional
 * networks (JOB_CNN: a program of conv, pooling, dense and softmax layers, one call per batch).
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

enum { JOB_NONE = 0, JOB_EXIT = 1, JOB_GPT2 = 2, JOB_LINEAR = 3, JOB_BANDWIDTH = 4, JOB_LLAMA = 5, JOB_CNN = 6 };

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
enum { EPI_STORE = 0, EPI_GELU = 1, EPI_ADD = 2, EPI_SILU_MUL = 3, EPI_RELU = 4, EPI_RELU6 = 5 };

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
  int epi;        /* EPI_STORE: y = xW+b; EPI_GELU: y = gelu(xW+b); EPI_ADD: y += xW+b; EPI_SILU_MUL: y = silu(xW+b) · y */
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
    else if (L->epi == EPI_RELU) r = r > 0.0f ? r : 0.0f;
    else if (L->epi == EPI_RELU6) r = r > 0.0f ? (r < 6.0f ? r : 6.0f) : 0.0f;
    if (L->epi == EPI_ADD) y[c] += r;
    else if (L->epi == EPI_SILU_MUL) y[c] *= r / (1.0f + expf_(-r));
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

/*
 * Quantized weights run as integer dot products. Each input row x (float32) is quantized per
 * group of G values to int16 lanes holding int8 values (q = round(x / s), s = max|x| / 127), kept
 * by pairs of k (so one 32-bit splat feeds `i32x4.dot_i16x8_s`). Weights are stored by pairs of k
 * too: int8 panels [N/8][K/2][8][2] (column c's two values side by side), int4 panels [N/8][K/2][8]
 * (row k in the low nibble, k+1 in the high one, value − 8). A group's integer sums are turned
 * into float once, times the weight scales and the row's group scale.
 */

/* Per thread: the quantized input rows (int16, [T][K]) and their group scales ([T][K/G]). */
typedef struct {
  int16_t *xq;
  float *xs;
} actq_t;

static void quantize_rows(const float *x, int T, int K, int G, int16_t *xq, float *xs) {
  const int ng = K / G;
  for (int t = 0; t < T; t++) {
    const float *xr = x + (long)t * K;
    int16_t *qr = xq + (long)t * K;
    for (int g = 0; g < ng; g++) {
      const float *xg = xr + g * G;
      v128_t m = wasm_f32x4_splat(0);
      for (int k = 0; k + 4 <= G; k += 4) m = wasm_f32x4_max(m, wasm_f32x4_abs(wasm_v128_load(xg + k)));
      float amax = wasm_f32x4_extract_lane(m, 0);
      for (int l = 1; l < 4; l++) {
        float v = l == 1 ? wasm_f32x4_extract_lane(m, 1) : l == 2 ? wasm_f32x4_extract_lane(m, 2) : wasm_f32x4_extract_lane(m, 3);
        if (v > amax) amax = v;
      }
      float sc = amax / 127.0f;
      xs[(long)t * ng + g] = sc;
      v128_t inv = wasm_f32x4_splat(sc > 0.0f ? 1.0f / sc : 0.0f);
      for (int k = 0; k + 8 <= G; k += 8) {
        v128_t a = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(xg + k), inv)));
        v128_t b = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(xg + k + 4), inv)));
        wasm_v128_store(qr + g * G + k, wasm_i16x8_narrow_i32x4(a, b));
      }
    }
  }
}

/* The 16 bytes of a k pair of an int8 panel as two i16x8 (columns 0–3 and 4–7, k and k+1 interleaved). */
static inline void q8_pair(const int8_t *q, v128_t *lo, v128_t *hi) {
  v128_t b = wasm_v128_load(q);
  *lo = wasm_i16x8_extend_low_i8x16(b);
  *hi = wasm_i16x8_extend_high_i8x16(b);
}

/* The 8 bytes of a k pair of an int4 panel, the same way. */
static inline void q4_pair(const uint8_t *q, v128_t *lo, v128_t *hi) {
  v128_t b = wasm_v128_load64_zero(q);
  v128_t l = wasm_v128_and(b, wasm_i8x16_splat(0x0f));
  v128_t h = wasm_u8x16_shr(b, 4);
  v128_t pairs = wasm_i8x16_shuffle(l, h, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  pairs = wasm_i8x16_sub(pairs, wasm_i8x16_splat(8));
  *lo = wasm_i16x8_extend_low_i8x16(pairs);
  *hi = wasm_i16x8_extend_high_i8x16(pairs);
}

#define QDOT(acc, w, x) acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(w, x))

/* int8 (bits 8) or int4 (bits 4) panels against quantized rows: 4 tokens × 8 columns at a time. */
static void lin_qint(const lin_t *L, const actq_t *A, int p0, int p1, int bits) {
  const int K = L->K, G = L->G, ng = K / G;
  const long pairBytes = bits == 8 ? 16 : 8;
  for (int p = p0; p < p1; p++) {
    const uint8_t *w = (const uint8_t *)L->w + (long)p * (K / 2) * pairBytes;
    const float *sc = L->s + (long)p * ng * 8;
    int t = 0;
    for (; t + 4 <= L->T; t += 4) {
      const int16_t *x0 = A->xq + (long)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
      const float *s0 = A->xs + (long)t * ng, *s1 = s0 + ng, *s2 = s1 + ng, *s3 = s2 + ng;
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int g = 0; g < ng; g++) {
        v128_t i00 = wasm_i32x4_splat(0), i01 = i00, i10 = i00, i11 = i00, i20 = i00, i21 = i00, i30 = i00, i31 = i00;
        for (int k = g * G; k < (g + 1) * G; k += 2) {
          v128_t wl, wh;
          if (bits == 8) q8_pair((const int8_t *)w + (k / 2) * pairBytes, &wl, &wh);
          else q4_pair(w + (k / 2) * pairBytes, &wl, &wh);
          v128_t y0 = wasm_v128_load32_splat(x0 + k), y1 = wasm_v128_load32_splat(x1 + k);
          v128_t y2 = wasm_v128_load32_splat(x2 + k), y3 = wasm_v128_load32_splat(x3 + k);
          QDOT(i00, wl, y0); QDOT(i01, wh, y0);
          QDOT(i10, wl, y1); QDOT(i11, wh, y1);
          QDOT(i20, wl, y2); QDOT(i21, wh, y2);
          QDOT(i30, wl, y3); QDOT(i31, wh, y3);
        }
        v128_t c0 = wasm_v128_load(sc + g * 8), c1 = wasm_v128_load(sc + g * 8 + 4);
        v128_t d0 = wasm_f32x4_splat(s0[g]), d1 = wasm_f32x4_splat(s1[g]), d2 = wasm_f32x4_splat(s2[g]), d3 = wasm_f32x4_splat(s3[g]);
        a00 = MADD(wasm_f32x4_convert_i32x4(i00), wasm_f32x4_mul(c0, d0), a00); a01 = MADD(wasm_f32x4_convert_i32x4(i01), wasm_f32x4_mul(c1, d0), a01);
        a10 = MADD(wasm_f32x4_convert_i32x4(i10), wasm_f32x4_mul(c0, d1), a10); a11 = MADD(wasm_f32x4_convert_i32x4(i11), wasm_f32x4_mul(c1, d1), a11);
        a20 = MADD(wasm_f32x4_convert_i32x4(i20), wasm_f32x4_mul(c0, d2), a20); a21 = MADD(wasm_f32x4_convert_i32x4(i21), wasm_f32x4_mul(c1, d2), a21);
        a30 = MADD(wasm_f32x4_convert_i32x4(i30), wasm_f32x4_mul(c0, d3), a30); a31 = MADD(wasm_f32x4_convert_i32x4(i31), wasm_f32x4_mul(c1, d3), a31);
      }
      epilogue(L, t, p, a00, a01); epilogue(L, t + 1, p, a10, a11);
      epilogue(L, t + 2, p, a20, a21); epilogue(L, t + 3, p, a30, a31);
    }
    for (; t < L->T; t++) {
      const int16_t *x0 = A->xq + (long)t * K;
      const float *s0 = A->xs + (long)t * ng;
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
      for (int g = 0; g < ng; g++) {
        v128_t i0 = wasm_i32x4_splat(0), i1 = i0, j0 = i0, j1 = i0;
        int k = g * G, end = (g + 1) * G;
        for (; k + 4 <= end; k += 4) {
          v128_t wl, wh, vl, vh;
          if (bits == 8) {
            q8_pair((const int8_t *)w + (k / 2) * pairBytes, &wl, &wh);
            q8_pair((const int8_t *)w + (k / 2 + 1) * pairBytes, &vl, &vh);
          } else {
            q4_pair(w + (k / 2) * pairBytes, &wl, &wh);
            q4_pair(w + (k / 2 + 1) * pairBytes, &vl, &vh);
          }
          v128_t y0 = wasm_v128_load32_splat(x0 + k), y1 = wasm_v128_load32_splat(x0 + k + 2);
          QDOT(i0, wl, y0); QDOT(i1, wh, y0);
          QDOT(j0, vl, y1); QDOT(j1, vh, y1);
        }
        for (; k < end; k += 2) {
          v128_t wl, wh;
          if (bits == 8) q8_pair((const int8_t *)w + (k / 2) * pairBytes, &wl, &wh);
          else q4_pair(w + (k / 2) * pairBytes, &wl, &wh);
          v128_t y0 = wasm_v128_load32_splat(x0 + k);
          QDOT(i0, wl, y0); QDOT(i1, wh, y0);
        }
        v128_t d0 = wasm_f32x4_splat(s0[g]);
        a0 = MADD(wasm_f32x4_convert_i32x4(wasm_i32x4_add(i0, j0)), wasm_f32x4_mul(wasm_v128_load(sc + g * 8), d0), a0);
        a1 = MADD(wasm_f32x4_convert_i32x4(wasm_i32x4_add(i1, j1)), wasm_f32x4_mul(wasm_v128_load(sc + g * 8 + 4), d0), a1);
      }
      epilogue(L, t, p, a0, a1);
    }
  }
}

/*
 * This thread's share of a linear layer (by panels), then a barrier. Quantized weights need the
 * input rows quantized: each thread does it into its own scratch (args of the job: `actq`), so
 * no barrier is needed before the product.
 */
static void linear(ctl_t *c, const lin_t *L, int tid, const actq_t *A) {
  int np = (L->N + 7) / 8, lo, hi;
  share(np, tid, c->nthreads, &lo, &hi);
  if (L->kind == W_F32) lin_f32(L, lo, hi);
  else if (lo < hi) {
    quantize_rows(L->x, L->T, L->K, L->G, A->xq, A->xs);
    lin_qint(L, A, lo, hi, L->kind == W_Q8 ? 8 : 4);
  }
  barrier(c);
}

/* Column `n` of a panel-stored matrix (the embedding row n of a tied head): K values into `out`. */
static void panel_column(const void *w, const float *s, int kind, int K, int G, int n, float *out) {
  int p = n / 8, c = n % 8;
  if (kind == W_F32) {
    const float *q = (const float *)w + (long)p * K * 8 + c;
    for (int k = 0; k < K; k++) out[k] = q[k * 8];
  } else if (kind == W_Q8) {
    const int8_t *q = (const int8_t *)w + (long)p * (K / 2) * 16 + c * 2;
    const float *sc = s + (long)p * (K / G) * 8 + c;
    for (int k = 0; k < K; k++) out[k] = (float)q[(k / 2) * 16 + (k & 1)] * sc[(k / G) * 8];
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

/* One query against keys 0…S-1 of one head's cache: softmax(q·K/√hd)·V into `o` (hd floats). */
static void attend(const float *q, const float *K, const float *V, int S, int hd, float *scores, float *o) {
  const float scale = 1.0f / __builtin_sqrtf((float)hd);
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
  for (int d = 0; d + 4 <= hd; d += 4) wasm_v128_store(o + d, wasm_f32x4_splat(0));
  for (int j = 0; j < S; j++) {
    v128_t a = wasm_f32x4_splat(scores[j] * inv);
    const float *v = V + (long)j * hd;
    for (int d = 0; d + 4 <= hd; d += 4) wasm_v128_store(o + d, MADD(a, wasm_v128_load(v + d), wasm_v128_load(o + d)));
  }
}

/*
 * Causal attention of T new tokens at positions start…start+T-1, heads [h0, h1):
 * their keys and values go into the caches ([H][P][hd] per layer), then each query attends to
 * every key up to its own position. `scores` holds P floats for this thread.
 */
static void attention_heads(const float *qkv, float *kc, float *vc, float *out, float *scores, int T, int start, int C, int hd, int P, int h0, int h1) {
  for (int h = h0; h < h1; h++) {
    float *K = kc + (long)h * P * hd, *V = vc + (long)h * P * hd;
    for (int t = 0; t < T; t++) {
      const float *src = qkv + (long)t * 3 * C;
      __builtin_memcpy(K + (long)(start + t) * hd, src + C + h * hd, (unsigned long)hd * 4);
      __builtin_memcpy(V + (long)(start + t) * hd, src + 2 * C + h * hd, (unsigned long)hd * 4);
    }
    for (int t = 0; t < T; t++) attend(qkv + (long)t * 3 * C + h * hd, K, V, start + t + 1, hd, scores, out + (long)t * C + h * hd);
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
 *   9 scores [threads][Pcap], 10 logits [V], 11 row [C], 12 ids [Tmax] (written by the caller),
 *   13 quantized rows [threads][Tmax][4C] int16, 14 their scales [threads][Tmax][4C/G] (quantized models)
 */
enum { M_L, M_C, M_H, M_V, M_P, M_KIND, M_G, M_EPS, M_WTE, M_WTES, M_WPE, M_LNFG, M_LNFB, M_LAYERS = 16, M_PER_LAYER = 16 };
enum { L_LN1G, L_LN1B, L_ATTW, L_ATTS, L_ATTB, L_PROW, L_PROS, L_PROB, L_LN2G, L_LN2B, L_FCW, L_FCS, L_FCB, L_FPW, L_FPS, L_FPB };
enum { S_KC, S_VC, S_PCAP, S_TMAX, S_X, S_H, S_QKV, S_ATT, S_FF, S_SCORES, S_LOGITS, S_ROW, S_IDS, S_XQ, S_XS };

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
  const int Tmax = (int)st[S_TMAX];
  actq_t A = { 0, 0 };
  if (kind != W_F32) {
    A.xq = PTR(int16_t *, st[S_XQ]) + (long)tid * Tmax * 4 * C;
    A.xs = PTR(float *, st[S_XS]) + (long)tid * Tmax * (4 * C / G);
  }

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
    linear(c, &a, tid, &A);
    {
      int lo, hi;
      share(H, tid, nt, &lo, &hi);
      attention_heads(qkv, kc, vc, att, PTR(float *, st[S_SCORES]) + (long)tid * P, T, start, C, hd, P, lo, hi);
      barrier(c);
    }
    lin_t pr = { att, T, C, C, PTR(const void *, w[L_PROW]), PTR(const float *, w[L_PROS]), G, kind, PTR(const float *, w[L_PROB]), x, C, EPI_ADD };
    linear(c, &pr, tid, &A);
    layernorm(c, x, PTR(const float *, w[L_LN2G]), PTR(const float *, w[L_LN2B]), h, T, C, eps, tid);
    lin_t fc = { h, T, C, 4 * C, PTR(const void *, w[L_FCW]), PTR(const float *, w[L_FCS]), G, kind, PTR(const float *, w[L_FCB]), ff, 4 * C, EPI_GELU };
    linear(c, &fc, tid, &A);
    lin_t fp = { ff, T, 4 * C, C, PTR(const void *, w[L_FPW]), PTR(const float *, w[L_FPS]), G, kind, PTR(const float *, w[L_FPB]), x, C, EPI_ADD };
    linear(c, &fp, tid, &A);
  }
  if (want_logits) {
    float *row = PTR(float *, st[S_ROW]);
    if (tid == 0) layernorm_rows(x + (long)(T - 1) * C, PTR(const float *, m[M_LNFG]), PTR(const float *, m[M_LNFB]), row, 0, 1, C, eps);
    barrier(c);
    lin_t head = { row, 1, C, V, PTR(const void *, m[M_WTE]), PTR(const float *, m[M_WTES]), G, kind, 0, PTR(float *, st[S_LOGITS]), V, EPI_STORE };
    linear(c, &head, tid, &A);
  }
}

/* ---- Llama family (Llama, Qwen2, Mistral) --------------------------------------------------- */

/* RMSNorm over rows [r0, r1): y = x / √(mean(x²) + eps) · w. */
static void rmsnorm_rows(const float *x, const float *w, float *y, int r0, int r1, int C, float eps) {
  for (int r = r0; r < r1; r++) {
    const float *xr = x + (long)r * C;
    float *yr = y + (long)r * C;
    v128_t q = wasm_f32x4_splat(0);
    int j = 0;
    for (; j + 4 <= C; j += 4) {
      v128_t v = wasm_v128_load(xr + j);
      q = MADD(v, v, q);
    }
    float ss = hsum(q);
    for (; j < C; j++) ss += xr[j] * xr[j];
    v128_t inv = wasm_f32x4_splat(1.0f / __builtin_sqrtf(ss / (float)C + eps));
    for (j = 0; j + 4 <= C; j += 4) wasm_v128_store(yr + j, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(xr + j), inv), wasm_v128_load(w + j)));
    for (; j < C; j++) yr[j] = xr[j] / __builtin_sqrtf(ss / (float)C + eps) * w[j];
  }
}

/* Rotary embedding of one head vector at position `pos` (rotate-half convention): x·cos + rot(x)·sin. */
static inline void rope(float *x, const float *cosv, const float *sinv, int hd) {
  const int half = hd / 2;
  for (int i = 0; i + 4 <= half; i += 4) {
    v128_t a = wasm_v128_load(x + i), b = wasm_v128_load(x + half + i);
    v128_t c = wasm_v128_load(cosv + i), s = wasm_v128_load(sinv + i);
    wasm_v128_store(x + i, wasm_f32x4_sub(wasm_f32x4_mul(a, c), wasm_f32x4_mul(b, s)));
    wasm_v128_store(x + half + i, MADD(a, s, wasm_f32x4_mul(b, c)));
  }
  for (int i = half - half % 4; i < half; i++) {
    float a = x[i], b = x[half + i];
    x[i] = a * cosv[i] - b * sinv[i];
    x[half + i] = a * sinv[i] + b * cosv[i];
  }
}

/*
 * The Llama descriptor (workers/engine/llama.ts): 0 L, 1 C (hidden), 2 H (query heads), 3 KVH,
 * 4 hd, 5 V, 6 I (MLP width), 7 kind, 8 G, 9 eps (float bits), 10 embed, 11 embed scales,
 * 12 head, 13 head scales, 14 final norm, then 24 words per layer from word 16:
 *   in_norm q.w q.s q.b k.w k.s k.b v.w v.s v.b o.w o.s post_norm gate.w gate.s up.w up.s down.w down.s
 * State: 0 kcache, 1 vcache ([L][KVH][cap][hd]), 2 cap, 3 Tmax, 4 x [T][C], 5 h [T][C],
 *   6 q [T][H·hd], 7 k [T][KVH·hd], 8 v [T][KVH·hd], 9 att [T][H·hd], 10 ff [T][I], 11 ff2 [T][I],
 *   12 scores [threads][cap], 13 logits [V], 14 row [C], 15 ids [T], 16 quantized rows
 *   [threads][T][max(C, I, H·hd)] int16, 17 their scales, 18 cos [cap][hd/2], 19 sin [cap][hd/2]
 */
enum { LM_L, LM_C, LM_H, LM_KVH, LM_HD, LM_V, LM_I, LM_KIND, LM_G, LM_EPS, LM_EMB, LM_EMBS, LM_HEAD, LM_HEADS, LM_NORM, LM_LAYERS = 16, LM_PER_LAYER = 24 };
enum { LL_IN, LL_QW, LL_QS, LL_QB, LL_KW, LL_KS, LL_KB, LL_VW, LL_VS, LL_VB, LL_OW, LL_OS, LL_POST, LL_GW, LL_GS, LL_UW, LL_US, LL_DW, LL_DS };
enum { LS_KC, LS_VC, LS_CAP, LS_TMAX, LS_X, LS_H, LS_Q, LS_K, LS_V, LS_ATT, LS_FF, LS_FF2, LS_SCORES, LS_LOGITS, LS_ROW, LS_IDS, LS_XQ, LS_XS, LS_COS, LS_SIN };

/* Several products over the same share of their panels, then one barrier (q, k, v; up then gate). */
static void linear_many(ctl_t *c, lin_t *const *Ls, int n, int tid, const actq_t *A) {
  for (int i = 0; i < n; i++) {
    const lin_t *L = Ls[i];
    int np = (L->N + 7) / 8, lo, hi;
    share(np, tid, c->nthreads, &lo, &hi);
    if (lo >= hi) continue;
    if (L->kind == W_F32) lin_f32(L, lo, hi);
    else {
      /* Inputs shared by the products are quantized once. */
      if (i == 0 || Ls[i - 1]->x != L->x) quantize_rows(L->x, L->T, L->K, L->G, A->xq, A->xs);
      lin_qint(L, A, lo, hi, L->kind == W_Q8 ? 8 : 4);
    }
  }
  barrier(c);
}

static void llama_forward(ctl_t *c, int tid) {
  const u32 *m = PTR(const u32 *, c->args[0]);
  const u32 *st = PTR(const u32 *, c->args[1]);
  const int32_t *ids = PTR(const int32_t *, c->args[2]);
  const int T = (int)c->args[3], start = (int)c->args[4], want_logits = (int)c->args[5];
  const int L = (int)m[LM_L], C = (int)m[LM_C], H = (int)m[LM_H], KVH = (int)m[LM_KVH], hd = (int)m[LM_HD], V = (int)m[LM_V], I = (int)m[LM_I];
  const int kind = (int)m[LM_KIND], G = (int)m[LM_G];
  union { u32 u; float f; } epsu;
  epsu.u = m[LM_EPS];
  const float eps = epsu.f;
  const int cap = (int)st[LS_CAP], Tmax = (int)st[LS_TMAX], nt = c->nthreads;
  const int QD = H * hd, KD = KVH * hd, group = H / KVH;
  float *x = PTR(float *, st[LS_X]), *h = PTR(float *, st[LS_H]), *q = PTR(float *, st[LS_Q]), *k = PTR(float *, st[LS_K]), *v = PTR(float *, st[LS_V]);
  float *att = PTR(float *, st[LS_ATT]), *ff = PTR(float *, st[LS_FF]), *ff2 = PTR(float *, st[LS_FF2]);
  const float *cosT = PTR(const float *, st[LS_COS]), *sinT = PTR(const float *, st[LS_SIN]);
  actq_t A = { 0, 0 };
  if (kind != W_F32) {
    int maxK = C > I ? C : I;
    if (QD > maxK) maxK = QD;
    A.xq = PTR(int16_t *, st[LS_XQ]) + (long)tid * Tmax * maxK;
    A.xs = PTR(float *, st[LS_XS]) + (long)tid * Tmax * (maxK / G);
  }
  {
    int lo, hi;
    share(T, tid, nt, &lo, &hi);
    for (int t = lo; t < hi; t++) panel_column(PTR(const void *, m[LM_EMB]), PTR(const float *, m[LM_EMBS]), kind, C, G, ids[t], x + (long)t * C);
    barrier(c);
  }
  for (int l = 0; l < L; l++) {
    const u32 *w = m + LM_LAYERS + l * LM_PER_LAYER;
    float *kc = PTR(float *, st[LS_KC]) + (long)l * KVH * cap * hd, *vc = PTR(float *, st[LS_VC]) + (long)l * KVH * cap * hd;
    {
      int lo, hi;
      share(T, tid, nt, &lo, &hi);
      rmsnorm_rows(x, PTR(const float *, w[LL_IN]), h, lo, hi, C, eps);
      barrier(c);
    }
    lin_t lq = { h, T, C, QD, PTR(const void *, w[LL_QW]), PTR(const float *, w[LL_QS]), G, kind, PTR(const float *, w[LL_QB]), q, QD, EPI_STORE };
    lin_t lk = { h, T, C, KD, PTR(const void *, w[LL_KW]), PTR(const float *, w[LL_KS]), G, kind, PTR(const float *, w[LL_KB]), k, KD, EPI_STORE };
    lin_t lv = { h, T, C, KD, PTR(const void *, w[LL_VW]), PTR(const float *, w[LL_VS]), G, kind, PTR(const float *, w[LL_VB]), v, KD, EPI_STORE };
    lin_t *qkv[3] = { &lq, &lk, &lv };
    linear_many(c, qkv, 3, tid, &A);
    {
      /* Keys (rotated) and values of the new tokens into the cache, by kv head. */
      int lo, hi;
      share(KVH, tid, nt, &lo, &hi);
      for (int g = lo; g < hi; g++) {
        float *K = kc + (long)g * cap * hd, *Vc = vc + (long)g * cap * hd;
        for (int t = 0; t < T; t++) {
          float *kd = K + (long)(start + t) * hd;
          __builtin_memcpy(kd, k + (long)t * KD + g * hd, (unsigned long)hd * 4);
          rope(kd, cosT + (long)(start + t) * (hd / 2), sinT + (long)(start + t) * (hd / 2), hd);
          __builtin_memcpy(Vc + (long)(start + t) * hd, v + (long)t * KD + g * hd, (unsigned long)hd * 4);
        }
      }
      barrier(c);
    }
    {
      /* Queries (rotated) attend, by query head; head hq reads kv head hq / group. */
      int lo, hi;
      share(H, tid, nt, &lo, &hi);
      float *scores = PTR(float *, st[LS_SCORES]) + (long)tid * cap;
      for (int hq = lo; hq < hi; hq++) {
        const int g = hq / group;
        const float *K = kc + (long)g * cap * hd, *Vc = vc + (long)g * cap * hd;
        for (int t = 0; t < T; t++) {
          float *qt = q + (long)t * QD + hq * hd;
          rope(qt, cosT + (long)(start + t) * (hd / 2), sinT + (long)(start + t) * (hd / 2), hd);
          attend(qt, K, Vc, start + t + 1, hd, scores, att + (long)t * QD + hq * hd);
        }
      }
      barrier(c);
    }
    lin_t lo_ = { att, T, QD, C, PTR(const void *, w[LL_OW]), PTR(const float *, w[LL_OS]), G, kind, 0, x, C, EPI_ADD };
    linear(c, &lo_, tid, &A);
    {
      int lo, hi;
      share(T, tid, nt, &lo, &hi);
      rmsnorm_rows(x, PTR(const float *, w[LL_POST]), h, lo, hi, C, eps);
      barrier(c);
    }
    /* SwiGLU: ff2 = up(h); ff2 = silu(gate(h)) · ff2, the same panels by the same thread; then down. */
    lin_t lu = { h, T, C, I, PTR(const void *, w[LL_UW]), PTR(const float *, w[LL_US]), G, kind, 0, ff2, I, EPI_STORE };
    lin_t lg = { h, T, C, I, PTR(const void *, w[LL_GW]), PTR(const float *, w[LL_GS]), G, kind, 0, ff2, I, EPI_SILU_MUL };
    lin_t *mlp[2] = { &lu, &lg };
    linear_many(c, mlp, 2, tid, &A);
    lin_t ld = { ff2, T, I, C, PTR(const void *, w[LL_DW]), PTR(const float *, w[LL_DS]), G, kind, 0, x, C, EPI_ADD };
    linear(c, &ld, tid, &A);
    (void)ff;
  }
  if (want_logits) {
    float *row = PTR(float *, st[LS_ROW]);
    if (tid == 0) rmsnorm_rows(x + (long)(T - 1) * C, PTR(const float *, m[LM_NORM]), row, 0, 1, C, eps);
    barrier(c);
    lin_t head = { row, 1, C, V, PTR(const void *, m[LM_HEAD]), PTR(const float *, m[LM_HEADS]), G, kind, 0, PTR(float *, st[LS_LOGITS]), V, EPI_STORE };
    linear(c, &head, tid, &A);
  }
}

/* ---- small convolutional networks ------------------------------------------------------------ */

/*
 * JOB_CNN runs a program: args[0] = address of `n` ops (args[1]) of CNN_OP_WORDS u32 words each, run in order
 * with a barrier between them. Tensors are float32 NHWC ([B][H][W][C]); a Flatten is a no-op (tfjs flattens
 * NHWC in that order). A convolution is an im2col into a scratch matrix [B·OH·OW][kh·kw·C] (k ordered
 * ky, kx, c — tfjs's kernel [kh][kw][C][N] read row by row) and one panel product with bias and activation
 * in its epilogue; a 1×1 convolution of stride 1 without padding reads its input directly. Products run on
 * a row count rounded up to 4, so every row takes the 4-row micro-kernel: a row's result is then the same
 * bits whatever the batch (a batched call equals a lone one); the caller's buffers hold 4 spare rows.
 *   CONV:    1, in, out, B, H, W, C, OH, OW, N, kh, kw, sh, sw, padTop, padLeft, panels, bias, epi, col
 *   MAXPOOL: 2, in, out, B, H, W, C, OH, OW, ph, pw, sh, sw, padTop, padLeft   (out-of-bounds taps ignored)
 *   DENSE:   3, in, out, B, K, N, panels, bias, epi
 *   SOFTMAX: 4, x (in place), B, N
 */
enum { CNN_CONV = 1, CNN_MAXPOOL = 2, CNN_DENSE = 3, CNN_SOFTMAX = 4 };
#define CNN_OP_WORDS 24

static void im2col(const float *x, float *col, int T, int H, int W, int C, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, int r0, int r1) {
  const int K = kh * kw * C;
  for (int r = r0; r < r1; r++) {
    float *dst = col + (long)r * K;
    if (r >= T) { /* a spare row of the rounded-up product */
      for (int k = 0; k < K; k++) dst[k] = 0.0f;
      continue;
    }
    int b = r / (OH * OW), rem = r % (OH * OW), oy = rem / OW, ox = rem % OW;
    for (int ky = 0; ky < kh; ky++) {
      int iy = oy * sh + ky - pt;
      for (int kx = 0; kx < kw; kx++) {
        int ix = ox * sw + kx - pl;
        float *d = dst + (ky * kw + kx) * C;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
          for (int c = 0; c < C; c++) d[c] = 0.0f;
        } else {
          const float *src = x + (((long)b * H + iy) * W + ix) * C;
          for (int c = 0; c < C; c++) d[c] = src[c];
        }
      }
    }
  }
}

static void maxpool_rows(const u32 *o, int r0, int r1) {
  const float *x = PTR(const float *, o[1]);
  float *y = PTR(float *, o[2]);
  int H = (int)o[4], W = (int)o[5], C = (int)o[6], OH = (int)o[7], OW = (int)o[8];
  int ph = (int)o[9], pw = (int)o[10], sh = (int)o[11], sw = (int)o[12], pt = (int)o[13], pl = (int)o[14];
  for (int r = r0; r < r1; r++) { /* r = b·OH + oy */
    int b = r / OH, oy = r % OH;
    for (int ox = 0; ox < OW; ox++) {
      float *d = y + (((long)b * OH + oy) * OW + ox) * C;
      for (int c = 0; c < C; c++) d[c] = -3.402823466e38f;
      for (int ky = 0; ky < ph; ky++) {
        int iy = oy * sh + ky - pt;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < pw; kx++) {
          int ix = ox * sw + kx - pl;
          if (ix < 0 || ix >= W) continue;
          const float *src = x + (((long)b * H + iy) * W + ix) * C;
          int c = 0;
          for (; c + 4 <= C; c += 4) wasm_v128_store(d + c, wasm_f32x4_pmax(wasm_v128_load(d + c), wasm_v128_load(src + c)));
          for (; c < C; c++) d[c] = src[c] > d[c] ? src[c] : d[c];
        }
      }
    }
  }
}

static void cnn_forward(ctl_t *c, int tid) {
  const u32 *prog = PTR(const u32 *, c->args[0]);
  int n = (int)c->args[1], nt = c->nthreads, lo, hi;
  for (int i = 0; i < n; i++) {
    const u32 *o = prog + (long)i * CNN_OP_WORDS;
    switch (o[0]) {
      case CNN_CONV: {
        int B = (int)o[3], H = (int)o[4], W = (int)o[5], C = (int)o[6], OH = (int)o[7], OW = (int)o[8], N = (int)o[9];
        int kh = (int)o[10], kw = (int)o[11], sh = (int)o[12], sw = (int)o[13], pt = (int)o[14], pl = (int)o[15];
        int T = B * OH * OW, T4 = (T + 3) & ~3, K = kh * kw * C;
        const float *x = PTR(const float *, o[1]);
        if (!(kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0)) {
          float *col = PTR(float *, o[19]);
          share(T4, tid, nt, &lo, &hi);
          im2col(x, col, T, H, W, C, OH, OW, kh, kw, sh, sw, pt, pl, lo, hi);
          barrier(c);
          x = col;
        }
        lin_t L = { x, T4, K, N, PTR(const void *, o[16]), 0, 0, W_F32, PTR(const float *, o[17]), PTR(float *, o[2]), N, (int)o[18] };
        linear(c, &L, tid, 0);
        break;
      }
      case CNN_MAXPOOL:
        share((int)o[3] * (int)o[7], tid, nt, &lo, &hi);
        maxpool_rows(o, lo, hi);
        barrier(c);
        break;
      case CNN_DENSE: {
        lin_t L = { PTR(const float *, o[1]), ((int)o[3] + 3) & ~3, (int)o[4], (int)o[5], PTR(const void *, o[6]), 0, 0, W_F32, PTR(const float *, o[7]), PTR(float *, o[2]), (int)o[5], (int)o[8] };
        linear(c, &L, tid, 0);
        break;
      }
      case CNN_SOFTMAX: {
        int B = (int)o[2], N = (int)o[3];
        share(B, tid, nt, &lo, &hi);
        for (int b = lo; b < hi; b++) {
          float *x = PTR(float *, o[1]) + (long)b * N, m = x[0], sum = 0.0f;
          for (int j = 1; j < N; j++) m = x[j] > m ? x[j] : m;
          for (int j = 0; j < N; j++) sum += (x[j] = expf_(x[j] - m));
          for (int j = 0; j < N; j++) x[j] /= sum;
        }
        barrier(c);
        break;
      }
      default:
        break;
    }
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
    case JOB_LLAMA:
      llama_forward(c, tid);
      break;
    case JOB_CNN:
      cnn_forward(c, tid);
      break;
    case JOB_LINEAR: {
      /* args 12, 13: per-thread scratch for quantized rows (int16 [T][K] and float [T][K/G] each, thread after thread). */
      lin_t L = { PTR(const float *, c->args[0]), (int)c->args[1], (int)c->args[2], (int)c->args[3], PTR(const void *, c->args[4]), PTR(const float *, c->args[5]),
                  (int)c->args[6], (int)c->args[7], PTR(const float *, c->args[8]), PTR(float *, c->args[9]), (int)c->args[10], (int)c->args[11] };
      actq_t A = { 0, 0 };
      if (L.kind != W_F32) {
        A.xq = PTR(int16_t *, c->args[12]) + (long)tid * L.T * L.K;
        A.xs = PTR(float *, c->args[13]) + (long)tid * L.T * (L.K / L.G);
      }
      linear(c, &L, tid, &A);
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
