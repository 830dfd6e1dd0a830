package store

import (
	"errors"
	"sync"
)

// batch is a full batch of chunks handed from a BlobWriter to its committer.
type batch struct {
	data []byte // CommitChunks full chunks
	seq  uint32 // number of its first chunk
}

// pipeline is a BlobWriter's committer: a goroutine that commits the batches
// Write hands off, in order, while Write goes on filling the next. The
// goroutine runs only while batches wait: it starts at a hand-off and exits
// once the queue is empty, so a writer that is dropped without Close or
// Abort leaves nothing running. At most depth batches are queued or
// committing; push blocks while that many are. The first failed commit
// stops the pipeline: the batches still queued are dropped and every later
// call returns the error.
type pipeline struct {
	depth  int
	commit func(batch) error

	mu       sync.Mutex
	cond     sync.Cond // signalled when a batch is done and when the goroutine exits
	queue    []batch   // handed off, not yet committing
	inFlight int       // queued or committing
	running  bool      // the goroutine is running
	err      error     // the first failure, or errStopped
	free     [][]byte  // buffers of committed batches, for Write to refill
}

// errStopped marks a pipeline stopped by Abort.
var errStopped = errors.New("store: blob writer stopped")

func (p *pipeline) init(depth int, commit func(batch) error) {
	p.depth, p.commit = depth, commit
	p.cond.L = &p.mu
}

// push queues b, waiting while depth batches are in flight, and returns an
// empty buffer for the next batch: a recycled one, or nil (the writer
// allocates). It fails with the pipeline's error.
func (p *pipeline) push(b batch) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.err == nil && p.inFlight >= p.depth {
		p.cond.Wait()
	}
	if p.err != nil {
		return nil, p.err
	}
	p.queue = append(p.queue, b)
	p.inFlight++
	if !p.running {
		p.running = true
		go p.run()
	}
	if n := len(p.free); n > 0 {
		buf := p.free[n-1][:0]
		p.free = p.free[:n-1]
		return buf, nil
	}
	return nil, nil
}

// run commits queued batches until the queue is empty or a commit fails.
func (p *pipeline) run() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 && p.err == nil {
		b := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		err := p.commit(b)
		p.mu.Lock()
		p.inFlight--
		if err != nil && p.err == nil {
			p.err = err
		}
		if err == nil {
			p.free = append(p.free, b.data)
		}
		p.cond.Broadcast()
	}
	p.inFlight -= len(p.queue)
	p.queue, p.running = nil, false
	p.cond.Broadcast()
}

// failed returns the pipeline's error without waiting.
func (p *pipeline) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// wait waits until every batch handed off is committed (or the pipeline has
// failed) and returns the pipeline's error.
func (p *pipeline) wait() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.running {
		p.cond.Wait()
	}
	p.free = nil
	return p.err
}

// stop drops the batches not yet committing, waits for the goroutine to
// exit, and makes every later push fail.
func (p *pipeline) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = errStopped
	}
	for p.running {
		p.cond.Wait()
	}
	p.free = nil
}
