package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/engine/registry"
)

// `skiff login` and `skiff logout`: unlike docker's CLI, which keeps the
// account in ~/.docker/config.json and sends it with each pull and push,
// skiff's daemon keeps it (POST /auth stores it), for every client.

type loginOptions struct {
	username, password string
	passwordStdin      bool
}

func newLoginCommand(cc *cliContext) *cobra.Command {
	var opts loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Authenticate to a registry (Docker Hub when no server is given)",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			return runLogin(cmd.Context(), cc, server, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.username, "username", "u", "", "Username")
	cmd.Flags().StringVarP(&opts.password, "password", "p", "", "Password or Personal Access Token (PAT)")
	cmd.Flags().BoolVar(&opts.passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

func runLogin(ctx context.Context, cc *cliContext, server string, opts loginOptions) error {
	if opts.password != "" {
		fmt.Fprintln(cc.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if opts.passwordStdin {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
	}
	in := bufio.NewReader(cc.stdin)
	if opts.passwordStdin {
		if opts.username == "" {
			//lint:ignore ST1005 docker's wording
			return errors.New("Must provide --username with --password-stdin")
		}
		b, err := io.ReadAll(in)
		if err != nil {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		opts.password = strings.TrimRight(string(b), "\r\n")
	}
	if opts.username == "" || opts.password == "" {
		if !cc.stdinIsTerminal {
			//lint:ignore ST1005 docker's wording
			return errors.New("Cannot perform an interactive login from a non TTY device")
		}
		if opts.username == "" {
			fmt.Fprint(cc.stdout, "Username: ")
			line, err := readLine(in)
			if err != nil {
				return fmt.Errorf("reading the username: %w", err)
			}
			opts.username = strings.TrimSpace(line)
		}
		if opts.password == "" {
			password, err := cc.readSecret(in, "Password: ")
			if err != nil {
				return fmt.Errorf("reading the password: %w", err)
			}
			opts.password = password
		}
	}
	if opts.username == "" || opts.password == "" {
		return errors.New("username and password required")
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.RegistryLogin(ctx, client.RegistryLoginOptions{Username: opts.username, Password: opts.password, ServerAddress: registry.NormalizeHost(server)})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cc.stdout, res.Auth.Status)
	return err
}

func newLogoutCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry (Docker Hub when no server is given)",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			host := registry.NormalizeHost(server)
			resp, err := cc.skiffRequest(cmd.Context(), http.MethodDelete, "/skiff/auth?"+url.Values{"server": {host}}.Encode())
			if err != nil {
				return err
			}
			resp.Body.Close()
			_, err = fmt.Fprintf(cc.stdout, "Removing login credentials for %s\n", host)
			return err
		},
	}
}
