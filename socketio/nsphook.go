package socketio

// Namespaces returns the server's namespaces: those of Of and the
// children of the parent namespaces (Node's io._nsps).
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		out = append(out, ns)
	}
	for _, p := range s.parents {
		out = append(out, p.childNamespaces()...)
	}
	return out
}

// OnNamespace calls fn once for every namespace of the server: at once for
// the existing ones, and for each namespace created later (by Of, or a
// dynamic child of a parent namespace) as it is created, before Of returns
// it and before the connection that created a child joins it. It is Node's
// "new_namespace" event together with a walk of io._nsps; fn must not call
// Of or OnNamespace. Unused, it costs nothing: the hooks are read once per
// namespace created.
func (s *Server) OnNamespace(fn func(*Namespace)) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	var hooks []func(*Namespace)
	if p := s.nspHooks.Load(); p != nil {
		hooks = append(hooks, *p...)
	}
	hooks = append(hooks, fn)
	// Stored before the walk: a namespace created meanwhile either saw
	// the new hooks while it was inserted (and is not in the walk's
	// snapshot) or was inserted before (and is in it), never both.
	s.nspHooks.Store(&hooks)
	for _, ns := range s.Namespaces() {
		fn(ns)
	}
}

// newNamespaceHooks returns the hooks a namespace being created must run;
// the caller holds the lock under which the namespace is inserted.
func (s *Server) newNamespaceHooks() []func(*Namespace) {
	if p := s.nspHooks.Load(); p != nil {
		return *p
	}
	return nil
}

func runNamespaceHooks(hooks []func(*Namespace), ns *Namespace) {
	for _, h := range hooks {
		h(ns)
	}
}
