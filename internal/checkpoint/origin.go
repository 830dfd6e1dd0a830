package checkpoint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
)

const (
	originPrefix   = "candor.invalid/"
	installationID = "candor/installation-id\x00"
)

// EpochOrigin returns Candor's origin for epoch (≥ 1) of the installation whose log has the
// Ed25519 public key edPub: "candor.invalid/<installation-id>/epoch-<epoch>", where the
// installation ID is the first 16 characters of the lowercase unpadded base32 of
// SHA-256("candor/installation-id\x00" || edPub).
func EpochOrigin(edPub ed25519.PublicKey, epoch int) (string, error) {
	if len(edPub) != ed25519.PublicKeySize || epoch < 1 {
		return "", fmt.Errorf("%w: origin needs a 32-byte Ed25519 key and an epoch from 1", ErrInvalid)
	}
	h := sha256.Sum256(append([]byte(installationID), edPub...))
	id := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:]))[:16]
	return originPrefix + id + "/epoch-" + strconv.Itoa(epoch), nil
}

// ParseEpochOrigin splits an origin made by EpochOrigin into its installation ID and epoch.
func ParseEpochOrigin(origin string) (string, int, error) {
	rest, ok := strings.CutPrefix(origin, originPrefix)
	id, ep, ok2 := strings.Cut(rest, "/epoch-")
	n, err := strconv.Atoi(ep)
	if !ok || !ok2 || len(id) != 16 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz234567") != "" ||
		err != nil || n < 1 || strconv.Itoa(n) != ep {
		return "", 0, fmt.Errorf("%w: %q is not a candor epoch origin", ErrMalformed, origin)
	}
	return id, n, nil
}
