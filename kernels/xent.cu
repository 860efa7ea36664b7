// Cross-entropy over logits (batch, classes) with integer labels: mean over the batch of
// logsumexp(row) − row[label]. The batch mean is a second, single-block kernel so the sum order
// is fixed (deterministic).
#include "reduce.cuh"

// One thread per row: probs = softmax(row), row_loss = logsumexp(row) − row[label].
extern "C" __global__ void xent_rows_f32(const float* __restrict__ logits,
                                         const unsigned* __restrict__ labels,
                                         float* __restrict__ probs, float* __restrict__ row_loss,
                                         unsigned batch, unsigned classes) {
    const size_t b = global_index();
    if (b >= batch) return;
    const float* x = logits + b * classes;
    float mx = -INFINITY;
    for (unsigned c = 0; c < classes; ++c) mx = fmaxf(mx, x[c]);
    float sum = 0.0f;
    for (unsigned c = 0; c < classes; ++c) sum += expf(x[c] - mx);
    for (unsigned c = 0; c < classes; ++c) probs[b * classes + c] = expf(x[c] - mx) / sum;
    row_loss[b] = logf(sum) - (x[labels[b]] - mx);
}

// loss[0] = Σ row_loss / batch. One block (blockDim a multiple of 32).
extern "C" __global__ void mean_f32(const float* __restrict__ x, unsigned n,
                                    float* __restrict__ out) {
    __shared__ float scratch[32];
    float acc = 0.0f;
    for (unsigned i = threadIdx.x; i < n; i += blockDim.x) acc += x[i];
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) out[0] = acc / (float)n;
}

// One thread per element: dlogits += dloss · (probs − onehot(label)) / batch.
extern "C" __global__ void xent_bwd_f32(const float* __restrict__ probs,
                                        const unsigned* __restrict__ labels,
                                        const float* __restrict__ dloss,
                                        float* __restrict__ dlogits, unsigned batch,
                                        unsigned classes) {
    const size_t i = global_index();
    if (i >= (size_t)batch * classes) return;
    const size_t b = i / classes, c = i - b * classes;
    const float onehot = (c == labels[b]) ? 1.0f : 0.0f;
    dlogits[i] += dloss[0] * (probs[i] - onehot) / (float)batch;
}
