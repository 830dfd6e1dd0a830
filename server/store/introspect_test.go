package store

// stopped reports whether stop was called.
func (p *pipeline) stopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err == errStopped
}
