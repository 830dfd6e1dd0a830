package server

// Introspection for the tests: what the limiters and the session table hold.

// waits returns how many claims had to wait.
func (ft *formTokens) waits() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.nwaits
}

// len returns the number of entries held.
func (ft *formTokens) len() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.m)
}

// inUse returns the bytes reserved.
func (m *memSem) inUse() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// len returns the number of sessions held (expired ones included until swept).
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}
