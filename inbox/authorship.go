package inbox

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"

	"candor/crypto"
	"candor/internal/bundle"
	"candor/internal/envelope"
)

// checkReplies verifies that every reply in the bundle was written by the reviewer it names: the
// reply's signed envelope is rebuilt from the Blob record (Seq, SignedDay, Sig) and its age file
// (the envelope's Body), and verified — both halves — with the card whose fingerprint is the
// reply's author. Cards are self-certifying (crypto.ParseCard checks the self-signature and the
// fingerprint is over the signed body), so a card found in this bundle or kept from an earlier
// one is the author's whoever relayed it. Any reply without a valid signature refuses the whole
// import with ErrForged: the server (or whoever altered the bundle after it was signed) invented
// or altered it, or attributed it to the wrong reviewer.
//
// A reviewer signs each envelope with a new sequence number, so a second reply with the same
// author and sequence number under another blob ID (the server replaying a genuine reply as a new
// one) is refused too.
func (in *Inbox) checkReplies(p *parsed) error {
	var cards map[string]*crypto.Card
	var seen map[replyKey][16]byte
	for _, b := range p.blobs {
		if !signedBlob(b.Kind) {
			continue
		}
		if cards == nil {
			var err error
			if cards, err = in.knownCards(p); err != nil {
				return err
			}
			if seen, err = in.knownReplies(); err != nil {
				return err
			}
		}
		if err := checkReply(p, b, cards[b.Author]); err != nil {
			return err
		}
		k := replyKey{b.Author, b.Seq}
		if id, ok := seen[k]; ok && id != b.ID {
			return fmt.Errorf("%w: reply %s in case %s, author %s: the same signed reply (sequence number %d) "+
				"as reply %s, replayed under another ID (nothing imported)", ErrForged,
				hex.EncodeToString(b.ID[:]), hex.EncodeToString(b.Case[:]), b.Author, b.Seq, hex.EncodeToString(id[:]))
		}
		seen[k] = b.ID
	}
	return nil
}

// replyKey identifies a signed reply: its author and its envelope's sequence number.
type replyKey struct {
	author string
	seq    uint64
}

// knownReplies returns the signed replies the inbox holds, by author and sequence number.
func (in *Inbox) knownReplies() (map[replyKey][16]byte, error) {
	seen := map[replyKey][16]byte{}
	err := in.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBlobs).ForEach(func(k, v []byte) error {
			var r blobRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("inbox: corrupt record: %w", err)
			}
			if r.Signed && len(k) == 16 {
				seen[replyKey{r.Author, r.Seq}] = [16]byte(k)
			}
			return nil
		})
	})
	return seen, err
}

// knownCards returns the cards of the bundle and of the inbox by their fingerprints.
func (in *Inbox) knownCards(p *parsed) (map[string]*crypto.Card, error) {
	cards := map[string]*crypto.Card{}
	err := in.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCards).ForEach(func(_, v []byte) error {
			if c, err := crypto.ParseCard(v); err == nil {
				cards[c.Fingerprint()] = c
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, text := range p.cards {
		c, err := crypto.ParseCard(text)
		if err != nil {
			return nil, fmt.Errorf("%w: a reviewer card: %w", ErrBadBundle, err)
		}
		cards[c.Fingerprint()] = c
	}
	return cards, nil
}

// checkReply verifies one reply blob with its author's card (nil if the inbox has none).
func checkReply(p *parsed, b *bundle.Blob, card *crypto.Card) error {
	where := fmt.Sprintf("%s %s in case %s, claimed author %s", kindName(b.Kind),
		hex.EncodeToString(b.ID[:]), hex.EncodeToString(b.Case[:]), b.Author)
	if card == nil {
		return fmt.Errorf("%w: %s: no card with that fingerprint, so its signature cannot be "+
			"checked (nothing imported)", ErrForged, where)
	}
	if len(b.Sig) == 0 {
		return fmt.Errorf("%w: %s: the reply carries no signature (nothing imported)", ErrForged, where)
	}
	if int64(len(b.Header))+b.Size > envelope.MaxBodyLen {
		return fmt.Errorf("%w: %s: larger than any reply envelope (nothing imported)", ErrForged, where)
	}
	body, err := p.signedBody(b)
	if err != nil {
		return fmt.Errorf("%w: %s: %w (nothing imported)", ErrForged, where, err)
	}
	e := &envelope.Envelope{Kind: envelope.KindReply, Reviewer: b.Author, Seq: b.Seq, Case: b.Case,
		Day: b.SignedDay, Feedback: b.Feedback, Body: body, Sig: b.Sig}
	if b.Kind == bundle.BlobNote {
		e.Kind = envelope.KindNote
	}
	if err := envelope.Verify(e, card.VerifyKey()); err != nil {
		return fmt.Errorf("%w: %s: the signature does not verify with that reviewer's card "+
			"(nothing imported): %w", ErrForged, where, err)
	}
	return nil
}

// ageFile returns the age file (header ‖ payload) of a blob read by Import.
func (p *parsed) ageFile(id [16]byte) ([]byte, error) {
	if b, ok := p.small[id]; ok {
		return b, nil
	}
	return os.ReadFile(p.temps[id])
}
