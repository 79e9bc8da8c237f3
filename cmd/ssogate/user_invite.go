package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssogate/ssogate/account"
)

// userInvite invites one person as the console's invitations page does.
func (c *cli) userInvite(ctx context.Context, args []string) error {
	fs := c.flags("user invite")
	email := fs.String("email", "", "email address of the person invited")
	name := fs.String("name", "", "display name")
	groups := fs.String("groups", "", "comma-separated groups")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, err := c.openForAdmin(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.gateway.Account()
	if svc == nil {
		return errors.New("user invite: the store keeps no account state")
	}
	u, err := svc.Invite(ctx, nil, account.Invitee{Email: *email, DisplayName: *name, Groups: splitList(*groups)},
		account.Origin{})
	switch {
	case errors.Is(err, account.ErrEmailInvalid):
		return fmt.Errorf("user invite: %q is not an email address", *email)
	case errors.Is(err, account.ErrNameRequired):
		return errors.New("user invite: --name is required")
	case errors.Is(err, account.ErrAlreadyRegistered):
		return fmt.Errorf("user invite: %s is already registered", *email)
	case err != nil:
		return fmt.Errorf("user invite: %w", err)
	}
	fmt.Fprintf(c.stdout, "invited %s; the invitation mail is queued\n", u.Email)
	return nil
}
