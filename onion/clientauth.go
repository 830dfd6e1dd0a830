package onion

// SetClientAuth replaces the x25519 public keys authorised on the restricted service. The address does not
// change: the restricted service is withdrawn (DEL_ONION) and published again (ADD_ONION) with the same
// identity key and the new ClientAuthV3 list, and tor uploads a fresh descriptor encrypted to exactly the
// new keys. DEL_ONION closes the service's circuits, so open connections on the restricted service are
// cut and clients reconnect (a removed client then fails). With no keys the service is withdrawn and stays
// unpublished. If tor is restarting, the new keys apply when it is back.
func (s *Service) SetClientAuth(keys []string) error {
	for _, k := range keys {
		if err := checkClientAuthKey(k); err != nil {
			return err
		}
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.mu.Lock()
	if s.state == StateClosed {
		s.mu.Unlock()
		return ErrClosed
	}
	wasPublished := len(s.clientAuth) > 0
	s.clientAuth = append([]string(nil), keys...)
	spec := s.restrictedSpec()
	inst := s.inst
	s.mu.Unlock()
	if inst == nil {
		return nil
	}
	if wasPublished {
		if err := inst.delOnion(spec.name, spec.addr); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return inst.addOnion(spec)
}
