package onion

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
)

// onionSpec is everything one ADD_ONION needs.
type onionSpec struct {
	name       string // "public" or "restricted", for errors and logs
	key        ed25519.PrivateKey
	addr       string // expected address, checked against tor's reply
	socket     string
	clientAuth []string
	pow        bool
	maxStreams int // 0: no bound; else MaxStreams=N with MaxStreamsCloseCircuit
}

func (s *Service) publicSpec() onionSpec {
	return onionSpec{name: "public", key: s.cfg.PublicKey, addr: s.publicAddr,
		socket: s.socketPath("public"), pow: s.cfg.PoW, maxStreams: s.cfg.MaxStreams}
}

// restrictedSpec reads s.clientAuth: the caller holds s.mu.
func (s *Service) restrictedSpec() onionSpec {
	return onionSpec{name: "restricted", key: s.cfg.RestrictedKey, addr: s.restrictedAddr,
		socket: s.socketPath("restricted"), clientAuth: append([]string(nil), s.clientAuth...),
		maxStreams: s.cfg.RestrictedMaxStreams}
}

// command returns the ADD_ONION line for sp. It holds the secret key: never log or wrap it in an error.
// DiscardPK keeps tor from echoing the key back.
func (sp onionSpec) command() string {
	var b strings.Builder
	b.WriteString("ADD_ONION ED25519-V3:" + torKeyBlob(sp.key) + " Flags=DiscardPK")
	if len(sp.clientAuth) > 0 {
		b.WriteString(",V3Auth")
	}
	if sp.maxStreams > 0 {
		b.WriteString(",MaxStreamsCloseCircuit MaxStreams=" + strconv.Itoa(sp.maxStreams))
	}
	if sp.pow {
		b.WriteString(" PoWDefensesEnabled=1")
	}
	b.WriteString(" Port=" + strconv.Itoa(VirtualPort) + ",unix:" + sp.socket)
	for _, k := range sp.clientAuth {
		b.WriteString(" ClientAuthV3=" + strings.ToUpper(k))
	}
	return b.String()
}

// addOnion publishes sp and checks that tor derived the address we expect from the key.
func (inst *instance) addOnion(sp onionSpec) error {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	resp, err := inst.tor.Control.SendRequest("%s", sp.command())
	if err != nil {
		return fmt.Errorf("onion: publish the %s service: %w", sp.name, torError(err))
	}
	for _, d := range resp.Data {
		if id, ok := strings.CutPrefix(d, "ServiceID="); ok && id != serviceID(sp.addr) {
			return fmt.Errorf("onion: publish the %s service: tor derived another address from the key", sp.name)
		}
	}
	return nil
}

// delOnion withdraws the service at addr; tor forgets the service, not the key (we keep it).
func (inst *instance) delOnion(name, addr string) error {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if _, err := inst.tor.Control.SendRequest("DEL_ONION %s", serviceID(addr)); err != nil {
		return fmt.Errorf("onion: withdraw the %s service: %w", name, torError(err))
	}
	return nil
}

// torError rebuilds a control error from tor's status code and message only (tor does not echo keys in
// them), so that no request text can ever reach an error string; I/O errors pass through.
func torError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Errorf("tor replied %d %s", te.Code, te.Msg)
	}
	return fmt.Errorf("tor control connection: %w", err)
}
