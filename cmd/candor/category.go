package main

import (
	"fmt"
	"io"
	"os"
)

const categoryUsage = `Usage:
    candor category list --data DIR [--json]    the categories and their questions
    candor category load --data DIR FILE        validate FILE (JSON) and make it the settings

FILE holds {"service_name", "organisation", "categories": [{"id", "name", "description",
"fields": [{"id", "label", "help", "kind", "options", "required"}]}]}; kind is text, textarea,
select or yesno; the category "general" must exist. Print the current file with
"candor category list --json". See docs/admin.md.
`

func runCategory(args []string, stdout, stderr io.Writer) error {
	return subcommand("category", categoryUsage, args, stdout, stderr, map[string]func([]string, io.Writer, io.Writer) error{
		"list": categoryList, "load": categoryLoad,
	})
}

func categoryList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("category list", "candor category list --data DIR [--json]", stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print the settings file (JSON), ready to edit and load")
	return adminCommand(fs, data, args, 0, func(a adminAPI) error {
		s, err := a.Settings()
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, s)
		}
		for _, c := range s.Categories {
			fmt.Fprintf(stdout, "%s  %s (%d questions)\n", c.ID, c.Name, len(c.Fields))
			for _, f := range c.Fields {
				req := ""
				if f.Required {
					req = ", required"
				}
				fmt.Fprintf(stdout, "    %s  %s [%s%s]\n", f.ID, f.Label, f.Kind, req)
			}
		}
		return nil
	})
}

func categoryLoad(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("category load", "candor category load --data DIR FILE", stderr)
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
	a, done, err := openAdmin(*data)
	if err != nil {
		return err
	}
	defer done()
	s, err := a.LoadSettings(b)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", fs.Arg(0), err), "nothing was changed; candor category --help describes the file")
	}
	fmt.Fprintf(stdout, "loaded %d categories from %s\n", len(s.Categories), fs.Arg(0))
	sayLive(stdout, a)
	return nil
}
