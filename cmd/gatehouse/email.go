package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gatehouse-idp/gatehouse/internal/mail"
)

// newEmailCmd is authentik's `ak test_email`: it sends a message with the
// configured email.* settings and templates, without a database.
func newEmailCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "email", Short: "Email tools"}
	var to, template, subject string
	test := &cobra.Command{
		Use:   "test --to ADDRESS",
		Short: "Send a test email with the email.* settings (the email/setup.html template by default)",
		Long: "Send a test email with the email.* settings. --template renders another template\n" +
			"(a built-in one or a file under email.template_dir) with sample values, to preview it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load()
			if err != nil {
				return err
			}
			body, err := mail.NewTemplates(cfg.Email.TemplateDir).Render(template, sampleData(to))
			if err != nil {
				return err
			}
			s := &mail.Sender{Config: cfg.Email}
			if err := s.Send(cmd.Context(), mail.Message{To: to, Subject: subject, Text: body.Text, HTML: body.HTML}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent %s to %s through %s\n", template, to,
				net.JoinHostPort(cfg.Email.Host, strconv.Itoa(cfg.Email.Port)))
			return nil
		},
	}
	test.Flags().StringVar(&to, "to", "", "recipient address (required)")
	test.Flags().StringVar(&template, "template", mail.TemplateSetup, "template to send")
	test.Flags().StringVar(&subject, "subject", "Gatehouse test email", "subject")
	_ = test.MarkFlagRequired("to")
	cmd.AddCommand(test)
	return cmd
}

// sampleData fills every template variable, so any template can be
// previewed.
func sampleData(to string) mail.Data {
	return mail.Data{User: mail.User{Name: "Test User", Username: "test-user", Email: to},
		URL: "https://gatehouse.example/if/flow/example/?flow_token=example", Expires: 30, Code: "123456",
		Title: "Test notification", Body: "This is a test notification.",
		KeyValue: []mail.KeyValue{{Key: "example", Value: "value"}}}
}
