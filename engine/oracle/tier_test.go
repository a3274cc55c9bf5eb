//go:build !purego

package oracle

// engineTier is the kernel tier the engine side of the comparison runs:
// "" leaves the choice to the child (TETHER_KERNELS, else the fastest).
const engineTier = ""
