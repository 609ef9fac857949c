package lifecycle

import (
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
)

// mailOutbox is the process's email outbox: the flow executor's and the
// notification transports' messages are queued (task email_send, sealed
// with a key of their own) and delivered by the worker with the email.*
// settings.
func (p *Process) mailOutbox() (*mail.Outbox, error) {
	sealer, err := crypto.NewSealer(p.secretKey, "email-task")
	if err != nil {
		return nil, err
	}
	o := &mail.Outbox{Queue: p.queue, Sealer: sealer, Config: p.Config.Email, Log: p.Log.With("component", "mail")}
	if p.executor != nil {
		p.executor.Mail = o
	}
	return o, nil
}
