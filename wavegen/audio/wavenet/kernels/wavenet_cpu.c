/* Fused WaveNet sampling loop for the CPU: every layer and time step in one call.
 *
 * The weights come laid out by packing.py (matrices as (inputs, outputs)). The
 * batch is split into contiguous slices, one per thread; rows of a WaveNet
 * batch never interact, so threads run the whole loop without synchronising.
 * Inside a thread, matrix products are register-blocked (4 rows x 64 output
 * channels of accumulators) over GCC vector types, and tanh/exp go through
 * glibc's vector math library (enabled by -ffast-math).
 *
 * The draw is the inverse-CDF rule of wavegen.core.autoregressive.Categorical:
 * the number of classes whose cumulative softmax probability is <= u * total.
 */
#include <math.h>
#include <pthread.h>
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

/* out[r][n] = bias[n] + sum_k x[r][k] w[k][n] for `rows` rows. */
static void matmul_bias(const float *x, int ldx, const float *w, const float *bias, int n_in, int n_out,
                        float *out, int ldo, int rows) {
    int n0 = 0;
    for (; n0 + 64 <= n_out; n0 += 64) {
        int r0 = 0;
        for (; r0 + 4 <= rows; r0 += 4) {
            v16 acc[4][4];
            for (int j = 0; j < 4; j++) {
                v16 b = *(const v16 *)(bias + n0 + 16 * j);
                acc[0][j] = b; acc[1][j] = b; acc[2][j] = b; acc[3][j] = b;
            }
            for (int k = 0; k < n_in; k++) {
                const float *wk = w + (size_t)k * n_out + n0;
                v16 w0 = *(const v16 *)wk, w1 = *(const v16 *)(wk + 16);
                v16 w2 = *(const v16 *)(wk + 32), w3 = *(const v16 *)(wk + 48);
                for (int r = 0; r < 4; r++) {
                    float xv = x[(size_t)(r0 + r) * ldx + k];
                    acc[r][0] += xv * w0; acc[r][1] += xv * w1; acc[r][2] += xv * w2; acc[r][3] += xv * w3;
                }
            }
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 4; j++) *(v16 *)(out + (size_t)(r0 + r) * ldo + n0 + 16 * j) = acc[r][j];
        }
        for (; r0 < rows; r0++) {
            v16 acc[4];
            for (int j = 0; j < 4; j++) acc[j] = *(const v16 *)(bias + n0 + 16 * j);
            for (int k = 0; k < n_in; k++) {
                const float *wk = w + (size_t)k * n_out + n0;
                float xv = x[(size_t)r0 * ldx + k];
                for (int j = 0; j < 4; j++) acc[j] += xv * *(const v16 *)(wk + 16 * j);
            }
            for (int j = 0; j < 4; j++) *(v16 *)(out + (size_t)r0 * ldo + n0 + 16 * j) = acc[j];
        }
    }
    for (; n0 + 16 <= n_out; n0 += 16) {
        for (int r = 0; r < rows; r++) {
            v16 acc = *(const v16 *)(bias + n0);
            for (int k = 0; k < n_in; k++) acc += x[(size_t)r * ldx + k] * *(const v16 *)(w + (size_t)k * n_out + n0);
            *(v16 *)(out + (size_t)r * ldo + n0) = acc;
        }
    }
    for (; n0 < n_out; n0++) {        /* channel counts that are not a multiple of 16 */
        for (int r = 0; r < rows; r++) {
            float acc = bias[n0];
            for (int k = 0; k < n_in; k++) acc += x[(size_t)r * ldx + k] * w[(size_t)k * n_out + n0];
            out[(size_t)r * ldo + n0] = acc;
        }
    }
}

static int64_t draw(const float *logits, int classes, float temperature, float u, float *scratch) {
    float m = -INFINITY;
    for (int c = 0; c < classes; c++) {
        scratch[c] = logits[c] / temperature;
        m = scratch[c] > m ? scratch[c] : m;
    }
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
                matmul_bias(x, 2 * R, a->dilated + (size_t)l * 2 * R * G, a->dilated_bias + (size_t)l * G,
                            2 * R, G, z, G, rows);
                for (int r = 0; r < rows; r++) {
                    const int cb = a->cond_batch > 1 ? b0 + r : 0;
                    const int ct = a->cond_steps > 1 ? i : 0;
                    const float *cv = a->cond + (((size_t)l * a->cond_batch + cb) * a->cond_steps + ct) * G;
                    float *zr = z + (size_t)r * G, *o = out + (size_t)r * H;
                    for (int c = 0; c < G; c++) zr[c] += cv[c];
                    for (int c = 0; c < H; c++) o[c] = tanhf(zr[c]) * (1.0f / (1.0f + expf(-zr[H + c])));
                }
                matmul_bias(out, H, a->res_skip + (size_t)l * H * RS, a->res_skip_bias + (size_t)l * RS,
                            H, RS, rs, RS, rows);
                for (int r = 0; r < rows; r++) {
                    float *h = x + (size_t)r * 2 * R + R, *rr = rs + (size_t)r * RS, *sk = skip + (size_t)r * S;
                    for (int c = 0; c < R; c++) h[c] += rr[c];
                    for (int c = 0; c < S; c++) sk[c] += rr[R + c];
                }
            }
            for (int j = 0; j < rows * S; j++) skip[j] = skip[j] > 0.0f ? skip[j] : 0.0f;
            matmul_bias(skip, S, a->out1, a->out1_bias, S, A, hid, A, rows);
            for (int j = 0; j < rows * A; j++) hid[j] = hid[j] > 0.0f ? hid[j] : 0.0f;
            matmul_bias(hid, A, a->out2, a->out2_bias, A, C, logits, C, rows);
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

/* Returns 0 on success, 1 when memory or threads could not be had. */
int wavenet_sample(const wavenet_args *a) {
    int threads = a->threads < 1 ? 1 : a->threads;
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
