package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"time"

	"candor/crypto"
	"candor/installation"
	"candor/internal/day"
	"candor/server/store"
)

// mkcase DATA CARDFILE...: a case (one stand-in blob) whose reviewers are the cards' reviewers.
func mkcase(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: mkcase DATA CARDFILE...")
	}
	var fps []string
	for _, f := range args[1:] {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		c, err := crypto.ParseCard(b)
		if err != nil {
			return err
		}
		fps = append(fps, c.Fingerprint())
	}
	st, err := installation.OpenStore(args[0], nil)
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := st.NewBlob()
	if err != nil {
		return err
	}
	w.Write([]byte("ciphertext"))
	w.SetHeader([]byte("age-encryption.org/v1\n-> X25519 test\n--- mac\n"))
	id, err := w.Close()
	if err != nil {
		return err
	}
	today := day.FromTime(time.Now())
	c := &store.Case{Category: installation.DefaultCategory, Received: today, Status: "received", Reviewers: fps,
		Messages: []store.Message{{Blob: id, Kind: store.KindReport, Author: store.AuthorReporter, Day: today}}}
	rand.Read(c.Lookup[:])
	_, err = st.CreateCase(c, []store.BlobID{id}, nil)
	return err
}

// fingerprint CARDFILE: print the card's fingerprint.
func fingerprint(args []string) error {
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	c, err := crypto.ParseCard(b)
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(c.Fingerprint()))
	return nil
}
