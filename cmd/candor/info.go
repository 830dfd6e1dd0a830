package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"candor/installation"
)

const infoUsage = `Usage:
    candor info list --data DIR [--json]    the information pages, per kind and language
    candor info load --data DIR FILE        validate FILE (JSON) and make it the information pages

FILE holds [{"kind", "lang", "title", "body"}, ...]: kind is procedure (how reports are
handled), privacy (the privacy notice) or external (the routes to outside bodies, e.g. for UK
police staff the IOPC and the other prescribed bodies); lang is a language the service speaks
(en, de); body is plain text, paragraphs separated by a blank line. The pages are part of the
settings (the "info" list of candor category list --json) and are linked from every page.
See docs/admin.md.
`

func runInfo(args []string, stdout, stderr io.Writer) error {
	return subcommand("info", infoUsage, args, stdout, stderr, map[string]func([]string, io.Writer, io.Writer) error{
		"list": infoList, "load": infoLoad,
	})
}

func infoList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info list", "candor info list --data DIR [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print the pages as a file ready to edit and load")
	return adminCommand(fs, data, args, 0, func(a adminAPI) error {
		s, err := a.Settings()
		if err != nil {
			return err
		}
		if *asJSON {
			pages := s.InfoPages
			if pages == nil {
				pages = []installation.InfoPage{}
			}
			return printJSON(stdout, pages)
		}
		for _, p := range s.InfoPages {
			fmt.Fprintf(stdout, "%-10s %s  %s (%d characters)\n", p.Kind, p.Lang, p.Title, len([]rune(p.Body)))
		}
		return nil
	})
}

func infoLoad(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info load", "candor info load --data DIR FILE", stderr)
	data := dataFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needData(fs, *data, 1); err != nil {
		return err
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var pages []installation.InfoPage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pages); err != nil {
		return withHint(fmt.Errorf("%s: %w: %v", fs.Arg(0), installation.ErrSettings, err), "the file is a JSON list of {\"kind\", \"lang\", \"title\", \"body\"}; candor info --help")
	}
	a, done, err := openAdmin(*data)
	if err != nil {
		return err
	}
	defer done()
	s, err := a.Settings()
	if err != nil {
		return err
	}
	s.InfoPages = pages
	nb, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if _, err := a.LoadSettings(nb); err != nil {
		return withHint(fmt.Errorf("%s: %w", fs.Arg(0), err), "nothing was changed; candor info --help describes the file")
	}
	fmt.Fprintf(stdout, "loaded %d information pages from %s\n", len(pages), fs.Arg(0))
	sayLive(stdout, a)
	return nil
}
