//go:build purego || !amd64

package model

// haveAsm is false: this build has only the portable kernels, and the
// functions below are never called.
const haveAsm = false

func widenF16Asm(dst []float32, src []uint16)                 { panic("model: no assembly kernels") }
func scoresF32Asm(dst, q, k []float32, scale float32) float32 { panic("model: no assembly kernels") }
func expSumAsm(p []float32, m float32) float32                { panic("model: no assembly kernels") }
func accPVAsm(out, p, v []float32)                            { panic("model: no assembly kernels") }
func dotsF16Asm(out, q []float32, k []uint16, scale float32)  { panic("model: no assembly kernels") }
func madF16sAsm(acc []float32, v []uint16, s []float32)       { panic("model: no assembly kernels") }
