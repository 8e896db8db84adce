/* Fused WaveNet sampling loop for the CPU: every layer and time step in one call.
 *
 * The weights come laid out by packing.py (matrices as (inputs, outputs)). Two
 * ways to use several threads:
 *  - large batches: the batch is split into contiguous slices, one per thread;
 *    rows of a WaveNet batch never interact, so threads run the whole loop
 *    without synchronising;
 *  - small batches (one stream): two threads in a pipeline, one running the
 *    residual chain and one the skip connections, output stack and draw
 *    (see sample_pipelined). Each thread then reads only its share of the
 *    weights, which fits in its core's L2 cache; one thread alone would stream
 *    all 3.5 MB of the reference model from L3 for every sample.
 * Inside a thread, matrix products are register-blocked (4 rows x 64 output
 * channels of accumulators) over GCC vector types, and tanh/exp go through
 * glibc's vector math library (enabled by -ffast-math).
 *
 * The draw is the inverse-CDF rule of wavegen.core.autoregressive.Categorical:
 * the number of classes whose cumulative softmax probability is <= u * total.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64), aligned(4)));

typedef struct {
    int32_t layers, residual, gate, skip, hidden, classes;
    int32_t batch, steps, t0, cond_batch, cond_steps, queue_rows, threads;
    float temperature;
    const float *embed, *input_bias, *dilated, *dilated_bias, *res_skip, *res_skip_bias;
    const float *out1, *out1_bias, *out2, *out2_bias;
    const int32_t *dilations, *offsets;
    const float *cond;     /* (layers, cond_batch, cond_steps, gate) */
    const float *draws;    /* (batch, steps) */
    float *queues;         /* (batch, queue_rows, residual) */
    int64_t *last_inputs;  /* (batch, 2): x_{t-2}, x_{t-1} */
    int64_t *samples;      /* (batch, steps) */
} wavenet_args;

#define LOAD(p) (*(const v16 *)(p))

/* One row: out[n] = bias[n] + sum_k x[k] w[k][n]. Matrix-vector products are bound by the FMA
 * latency of their accumulators, so each column block keeps four partial sums over k. */
static void row_matmul(const float *x, const float *w, int ldw, const float *bias, int n_in, int n_out,
                       float *out) {
    int n0 = 0;
    for (; n0 + 32 <= n_out; n0 += 32) {
        v16 a[4] = {0}, b[4] = {0};
        int k = 0;
        for (; k + 4 <= n_in; k += 4)
            for (int j = 0; j < 4; j++) {
                const float *wk = w + (size_t)(k + j) * ldw + n0;
                a[j] += x[k + j] * LOAD(wk);
                b[j] += x[k + j] * LOAD(wk + 16);
            }
        for (; k < n_in; k++) {
            a[0] += x[k] * LOAD(w + (size_t)k * ldw + n0);
            b[0] += x[k] * LOAD(w + (size_t)k * ldw + n0 + 16);
        }
        *(v16 *)(out + n0) = LOAD(bias + n0) + ((a[0] + a[1]) + (a[2] + a[3]));
        *(v16 *)(out + n0 + 16) = LOAD(bias + n0 + 16) + ((b[0] + b[1]) + (b[2] + b[3]));
    }
    for (; n0 + 16 <= n_out; n0 += 16) {
        v16 a[4] = {0};
        int k = 0;
        for (; k + 4 <= n_in; k += 4)
            for (int j = 0; j < 4; j++) a[j] += x[k + j] * LOAD(w + (size_t)(k + j) * ldw + n0);
        for (; k < n_in; k++) a[0] += x[k] * LOAD(w + (size_t)k * ldw + n0);
        *(v16 *)(out + n0) = LOAD(bias + n0) + ((a[0] + a[1]) + (a[2] + a[3]));
    }
    for (; n0 < n_out; n0++) {        /* channel counts that are not a multiple of 16 */
        float acc = bias[n0];
        for (int k = 0; k < n_in; k++) acc += x[k] * w[(size_t)k * ldw + n0];
        out[n0] = acc;
    }
}

/* out[r][n] = bias[n] + sum_k x[r][k] w[k][n] for `rows` rows and n < n_out; rows of w are ldw apart.
 * Groups of 4 rows x 64 columns share each weight load across 16 accumulators; what is left over
 * (fewer than 4 rows, or columns past the last multiple of 64) goes row by row. */
static void matmul_bias(const float *x, int ldx, const float *w, int ldw, const float *bias, int n_in, int n_out,
                        float *out, int ldo, int rows) {
    const int n64 = n_out / 64 * 64, r4 = rows / 4 * 4;
    for (int n0 = 0; n0 < n64; n0 += 64) {
        for (int r0 = 0; r0 < r4; r0 += 4) {
            v16 acc[4][4];
            for (int j = 0; j < 4; j++) {
                v16 b = LOAD(bias + n0 + 16 * j);
                acc[0][j] = b; acc[1][j] = b; acc[2][j] = b; acc[3][j] = b;
            }
            for (int k = 0; k < n_in; k++) {
                const float *wk = w + (size_t)k * ldw + n0;
                v16 w0 = LOAD(wk), w1 = LOAD(wk + 16), w2 = LOAD(wk + 32), w3 = LOAD(wk + 48);
                for (int r = 0; r < 4; r++) {
                    float xv = x[(size_t)(r0 + r) * ldx + k];
                    acc[r][0] += xv * w0; acc[r][1] += xv * w1; acc[r][2] += xv * w2; acc[r][3] += xv * w3;
                }
            }
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 4; j++) *(v16 *)(out + (size_t)(r0 + r) * ldo + n0 + 16 * j) = acc[r][j];
        }
    }
    for (int r = 0; r < rows; r++) {
        const int from = r < r4 ? n64 : 0;
        row_matmul(x + (size_t)r * ldx, w + from, ldw, bias + from, n_in, n_out - from, out + (size_t)r * ldo + from);
    }
}

static int64_t draw(const float *logits, int classes, float temperature, float u, float *scratch) {
    for (int c = 0; c < classes; c++) scratch[c] = logits[c] / temperature;
    float m = scratch[0];                  /* not -INFINITY: -ffast-math assumes finite values */
    for (int c = 1; c < classes; c++) m = scratch[c] > m ? scratch[c] : m;
    float total = 0.0f;
    for (int c = 0; c < classes; c++) {
        scratch[c] = expf(scratch[c] - m);
        total += scratch[c];
    }
    float cdf = 0.0f;
    for (int c = 0; c < classes; c++) {
        cdf += scratch[c] / total;
        scratch[c] = cdf;
    }
    float threshold = u * cdf;
    int64_t index = 0;
    for (int c = 0; c < classes; c++) index += scratch[c] <= threshold;
    return index < classes ? index : classes - 1;
}

typedef struct {
    const wavenet_args *a;
    int begin, end;
    int status;
} slice;

#define PIPELINE_BELOW 4        /* batches smaller than this run on two pipelined threads */
#define TILE 64    /* rows processed together; activations of a tile stay in L1/L2 */

static void *run_slice(void *arg) {
    slice *s = (slice *)arg;
    const wavenet_args *a = s->a;
    const int L = a->layers, R = a->residual, G = a->gate, H = G / 2, S = a->skip, A = a->hidden, C = a->classes;
    const int RS = R + S;
    float *buf = aligned_alloc(64, sizeof(float) * (size_t)TILE * (2 * R + G + H + RS + S + A + C + C) + 64 * 8);
    if (!buf) { s->status = 1; return NULL; }
    float *x = buf, *z = x + TILE * 2 * R, *out = z + TILE * G, *rs = out + TILE * H, *skip = rs + TILE * RS;
    float *hid = skip + TILE * S, *logits = hid + TILE * A, *scratch = logits + TILE * C;

    for (int b0 = s->begin; b0 < s->end; b0 += TILE) {
        const int rows = s->end - b0 < TILE ? s->end - b0 : TILE;
        for (int i = 0; i < a->steps; i++) {
            const int64_t t = (int64_t)a->t0 + i;
            for (int r = 0; r < rows; r++) {       /* input layer: embedding rows of x_{t-2}, x_{t-1} */
                const int64_t *last = a->last_inputs + 2 * (size_t)(b0 + r);
                const float *e0 = a->embed + (size_t)last[0] * R, *e1 = a->embed + ((size_t)C + last[1]) * R;
                float *h = x + (size_t)r * 2 * R + R;
                for (int c = 0; c < R; c++) h[c] = e0[c] + e1[c] + a->input_bias[c];
                memset(skip + (size_t)r * S, 0, sizeof(float) * S);
            }
            for (int l = 0; l < L; l++) {
                const int d = a->dilations[l];
                const size_t row = (size_t)a->offsets[l] + (size_t)(t % d);
                for (int r = 0; r < rows; r++) {   /* [h_{t-d}, h_t] and push h_t into the queue */
                    float *q = a->queues + ((size_t)(b0 + r) * a->queue_rows + row) * R;
                    float *xr = x + (size_t)r * 2 * R;
                    memcpy(xr, q, sizeof(float) * R);
                    memcpy(q, xr + R, sizeof(float) * R);
                }
                matmul_bias(x, 2 * R, a->dilated + (size_t)l * 2 * R * G, G, a->dilated_bias + (size_t)l * G,
                            2 * R, G, z, G, rows);
                for (int r = 0; r < rows; r++) {
                    const int cb = a->cond_batch > 1 ? b0 + r : 0;
                    const int ct = a->cond_steps > 1 ? i : 0;
                    const float *cv = a->cond + (((size_t)l * a->cond_batch + cb) * a->cond_steps + ct) * G;
                    float *zr = z + (size_t)r * G, *o = out + (size_t)r * H;
                    for (int c = 0; c < G; c++) zr[c] += cv[c];
                    for (int c = 0; c < H; c++) o[c] = tanhf(zr[c]) * (1.0f / (1.0f + expf(-zr[H + c])));
                }
                matmul_bias(out, H, a->res_skip + (size_t)l * H * RS, RS, a->res_skip_bias + (size_t)l * RS,
                            H, RS, rs, RS, rows);
                for (int r = 0; r < rows; r++) {
                    float *h = x + (size_t)r * 2 * R + R, *rr = rs + (size_t)r * RS, *sk = skip + (size_t)r * S;
                    for (int c = 0; c < R; c++) h[c] += rr[c];
                    for (int c = 0; c < S; c++) sk[c] += rr[R + c];
                }
            }
            for (int j = 0; j < rows * S; j++) skip[j] = skip[j] > 0.0f ? skip[j] : 0.0f;
            matmul_bias(skip, S, a->out1, A, a->out1_bias, S, A, hid, A, rows);
            for (int j = 0; j < rows * A; j++) hid[j] = hid[j] > 0.0f ? hid[j] : 0.0f;
            matmul_bias(hid, A, a->out2, C, a->out2_bias, A, C, logits, C, rows);
            for (int r = 0; r < rows; r++) {
                const size_t b = (size_t)(b0 + r);
                int64_t k = draw(logits + (size_t)r * C, C, a->temperature, a->draws[b * a->steps + i], scratch);
                a->samples[b * a->steps + i] = k;
                a->last_inputs[2 * b] = a->last_inputs[2 * b + 1];
                a->last_inputs[2 * b + 1] = k;
            }
        }
    }
    free(buf);
    s->status = 0;
    return NULL;
}

/* ---- small batches: the residual chain and the skip/output work on two threads ------------------ */

/* Thread A runs the residual chain (input layer, then per layer: queue, dilated conv, gate,
 * residual 1x1) and publishes each layer's gate output; thread B consumes them as they come
 * (skip 1x1 and sum), then runs the output stack and the draw, and publishes the sample that
 * thread A needs to start the next step. Each thread reads about half of the weights, which then
 * stay in its core's L2 cache, and they only wait on each other through two counters. */
typedef struct {
    const wavenet_args *a;
    float *outs;               /* (layers, rows, gate/2): gate outputs of the current step */
    atomic_long produced;      /* gate outputs published: step * layers + layer + 1 */
    atomic_long drawn;         /* steps whose samples are in last_inputs */
    float *skip, *rs, *hid, *logits, *scratch;
} pipeline;

static void wait_until(atomic_long *counter, long value) {
    while (atomic_load_explicit(counter, memory_order_acquire) < value) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static void *skip_and_output(void *arg) {
    pipeline *p = (pipeline *)arg;
    const wavenet_args *a = p->a;
    const int L = a->layers, R = a->residual, H = a->gate / 2, S = a->skip, A = a->hidden, C = a->classes;
    const int RS = R + S, rows = a->batch;
    for (int i = 0; i < a->steps; i++) {
        memset(p->skip, 0, sizeof(float) * (size_t)rows * S);
        for (int l = 0; l < L; l++) {
            wait_until(&p->produced, (long)i * L + l + 1);
            matmul_bias(p->outs + (size_t)l * rows * H, H, a->res_skip + (size_t)l * H * RS + R, RS,
                        a->res_skip_bias + (size_t)l * RS + R, H, S, p->rs, S, rows);
            for (int j = 0; j < rows * S; j++) p->skip[j] += p->rs[j];
        }
        for (int j = 0; j < rows * S; j++) p->skip[j] = fmaxf(p->skip[j], 0.0f);
        matmul_bias(p->skip, S, a->out1, A, a->out1_bias, S, A, p->hid, A, rows);
        for (int j = 0; j < rows * A; j++) p->hid[j] = fmaxf(p->hid[j], 0.0f);
        matmul_bias(p->hid, A, a->out2, C, a->out2_bias, A, C, p->logits, C, rows);
        for (int r = 0; r < rows; r++) {
            int64_t k = draw(p->logits + (size_t)r * C, C, a->temperature, a->draws[(size_t)r * a->steps + i],
                             p->scratch);
            a->samples[(size_t)r * a->steps + i] = k;
            a->last_inputs[2 * (size_t)r] = a->last_inputs[2 * (size_t)r + 1];
            a->last_inputs[2 * (size_t)r + 1] = k;
        }
        atomic_store_explicit(&p->drawn, i + 1, memory_order_release);
    }
    return NULL;
}

static void residual_chain(pipeline *p) {
    const wavenet_args *a = p->a;
    const int L = a->layers, R = a->residual, G = a->gate, H = G / 2, S = a->skip, C = a->classes;
    const int RS = R + S, rows = a->batch;
    float x[rows * 2 * R], z[rows * G], res[rows * R];
    for (int i = 0; i < a->steps; i++) {
        const int64_t t = (int64_t)a->t0 + i;
        wait_until(&p->drawn, i);                               /* x_{t-1} is known */
        for (int r = 0; r < rows; r++) {
            const int64_t *last = a->last_inputs + 2 * (size_t)r;
            const float *e0 = a->embed + (size_t)last[0] * R, *e1 = a->embed + ((size_t)C + last[1]) * R;
            for (int c = 0; c < R; c++) x[r * 2 * R + R + c] = e0[c] + e1[c] + a->input_bias[c];
        }
        for (int l = 0; l < L; l++) {
            const int d = a->dilations[l];
            const size_t row = (size_t)a->offsets[l] + (size_t)(t % d);
            for (int r = 0; r < rows; r++) {
                float *q = a->queues + ((size_t)r * a->queue_rows + row) * R;
                memcpy(x + r * 2 * R, q, sizeof(float) * R);
                memcpy(q, x + r * 2 * R + R, sizeof(float) * R);
            }
            matmul_bias(x, 2 * R, a->dilated + (size_t)l * 2 * R * G, G, a->dilated_bias + (size_t)l * G,
                        2 * R, G, z, G, rows);
            float *outs = p->outs + (size_t)l * rows * H;
            for (int r = 0; r < rows; r++) {
                const int cb = a->cond_batch > 1 ? r : 0, ct = a->cond_steps > 1 ? i : 0;
                const float *cv = a->cond + (((size_t)l * a->cond_batch + cb) * a->cond_steps + ct) * G;
                const float *zr = z + r * G;
                for (int c = 0; c < H; c++)
                    outs[r * H + c] = tanhf(zr[c] + cv[c]) * (1.0f / (1.0f + expf(-(zr[H + c] + cv[H + c]))));
            }
            atomic_store_explicit(&p->produced, (long)i * L + l + 1, memory_order_release);
            if (l < L - 1) {
                matmul_bias(outs, H, a->res_skip + (size_t)l * H * RS, RS, a->res_skip_bias + (size_t)l * RS,
                            H, R, res, R, rows);
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < R; c++) x[r * 2 * R + R + c] += res[r * R + c];
            }
        }
    }
    wait_until(&p->drawn, a->steps);
}

/* Returns 0 on success, 1 when memory could not be had, -1 when the second thread did not start. */
static int sample_pipelined(const wavenet_args *a) {
    const int rows = a->batch, H = a->gate / 2, S = a->skip, A = a->hidden, C = a->classes;
    pipeline p = {.a = a};
    atomic_init(&p.produced, 0);
    atomic_init(&p.drawn, 0);
    float *buf = aligned_alloc(64, sizeof(float) * ((size_t)rows * (a->layers * H + 2 * S + A + C) + C + 64));
    if (!buf) return 1;
    p.outs = buf;
    p.skip = p.outs + (size_t)a->layers * rows * H;
    p.rs = p.skip + (size_t)rows * S;
    p.hid = p.rs + (size_t)rows * S;
    p.logits = p.hid + (size_t)rows * A;
    p.scratch = p.logits + (size_t)rows * C;
    pthread_t consumer;
    if (pthread_create(&consumer, NULL, skip_and_output, &p)) {
        free(buf);
        return -1;
    }
    residual_chain(&p);
    pthread_join(consumer, NULL);
    free(buf);
    return 0;
}

/* Returns 0 on success, 1 when memory or threads could not be had. */
int wavenet_sample(const wavenet_args *a) {
    int threads = a->threads < 1 ? 1 : a->threads;
    if (threads > 1 && a->batch < PIPELINE_BELOW) {
        const int status = sample_pipelined(a);
        if (status >= 0) return status;          /* else: no second thread, run on one below */
        threads = 1;
    }
    if (threads > a->batch) threads = a->batch;
    if (threads > 64) threads = 64;
    slice slices[64];
    pthread_t ids[64];
    const int per = a->batch / threads, extra = a->batch % threads;
    int begin = 0;
    for (int i = 0; i < threads; i++) {
        slices[i].a = a;
        slices[i].begin = begin;
        slices[i].end = begin + per + (i < extra);
        slices[i].status = 0;
        begin = slices[i].end;
    }
    int started = 1;
    for (int i = 1; i < threads; i++, started++)
        if (pthread_create(&ids[i], NULL, run_slice, &slices[i])) break;
    run_slice(&slices[0]);
    int status = slices[0].status;
    for (int i = 1; i < started; i++) {
        pthread_join(ids[i], NULL);
        status |= slices[i].status;
    }
    if (started < threads) status |= 1;
    return status;
}
