//go:build purego

package oracle

// engineTier is the kernel tier the engine side of the comparison runs:
// a purego test build compares the portable kernels, so its child
// process, built without the tag, is told to use them too.
const engineTier = "scalar"
