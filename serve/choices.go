package serve

import (
	"fmt"
	"iter"
	"sync"
)

// maxChoices bounds n: every choice takes a slot or waits for one, and
// the prompt is evaluated once for all of them.
const maxChoices = 16

// choiceItem is an element of one choice's stream.
type choiceItem[T any] struct {
	index int
	v     T
}

// mergeChoices runs the streams of a request's choices together and
// yields their elements as they come, each with its choice's index. The
// first error ends the merged stream. When it ends early, cancel (the
// request's, which the streams run under) stops the others, and
// mergeChoices returns once they have let go of their slots.
func mergeChoices[T any](cancel func(), seqs []iter.Seq2[T, error]) iter.Seq2[choiceItem[T], error] {
	if len(seqs) == 1 {
		return func(yield func(choiceItem[T], error) bool) {
			for v, err := range seqs[0] {
				if !yield(choiceItem[T]{0, v}, err) {
					return
				}
			}
		}
	}
	return func(yield func(choiceItem[T], error) bool) {
		ch := make(chan item[choiceItem[T]])
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i, seq := range seqs {
			wg.Go(func() {
				send := func(it item[choiceItem[T]]) bool {
					select {
					case ch <- it:
						return true
					case <-stop:
						return false
					}
				}
				defer func() {
					// Not a handler's goroutine: a panic becomes the
					// stream's error rather than end the process.
					if p := recover(); p != nil {
						send(item[choiceItem[T]]{err: fmt.Errorf("internal error: %v", p)})
					}
				}()
				for v, err := range seq {
					if !send(item[choiceItem[T]]{choiceItem[T]{i, v}, err}) || err != nil {
						return
					}
				}
			})
		}
		go func() {
			wg.Wait()
			close(ch)
		}()
		defer func() {
			close(stop)
			cancel()
			for range ch {
				// drain until every stream has ended
			}
		}()
		for it := range ch {
			if !yield(it.v, it.err) || it.err != nil {
				return
			}
		}
	}
}
