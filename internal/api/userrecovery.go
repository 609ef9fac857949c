package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/stage/email"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Recovery links (authentik's UserViewSet.recovery and recovery_email): an
// administrator plans the current brand's recovery flow for a user and gets
// a link that resumes the plan in any browser, or has it mailed to the user
// with an email stage's subject and template. The link is a flow token
// (flow.Link): single use, expiring after token_duration or the
// default_token_duration setting (authentik's default_token_duration(),
// 30 minutes unless changed). One link per user is valid at a time: a new
// one replaces the token of the last (authentik's update_or_create on the
// identifier "<uid>-password-reset").

// UserRecoveryLinkRequest is the optional body of recovery/ (authentik's
// UserRecoveryLinkSerializer).
type UserRecoveryLinkRequest struct {
	TokenDuration string `json:"token_duration,omitempty" maxLength:"100" doc:"How long the link is valid (\"hours=1;minutes=30\"); default: the default_token_duration setting"`
}

// UserRecoveryEmailRequest is the optional body of recovery_email/
// (authentik's UserRecoveryEmailSerializer); the email stage may also be
// given as the email_stage query parameter, as authentik before 2025 took it.
type UserRecoveryEmailRequest struct {
	TokenDuration string     `json:"token_duration,omitempty" maxLength:"100" doc:"How long the link is valid (\"hours=1;minutes=30\"); default: the default_token_duration setting"`
	EmailStage    *uuid.UUID `json:"email_stage,omitempty" doc:"The email stage whose subject and template the message uses"`
}

// Link is authentik's LinkSerializer.
type Link struct {
	Link string `json:"link"`
}

type recoveryInput struct {
	UserIDInput
	Body *UserRecoveryLinkRequest
}

type recoveryEmailInput struct {
	UserIDInput
	EmailStage string `query:"email_stage" doc:"The email stage (also accepted in the body)"`
	Body       *UserRecoveryEmailRequest
}

func (a *API) registerUserRecovery() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodPost, "/core/users/{id}/recovery/", "core_users_recovery_create", tag,
		"Create a temporary link that a user can use to recover their account", 200, 404), a.recoveryLink)
	huma.Register(a.huma, op(http.MethodPost, "/core/users/{id}/recovery_email/", "core_users_recovery_email_create", tag,
		"Send an email with a temporary link that a user can use to recover their account", 204, 404), a.recoveryEmail)
}

func (a *API) recoveryLink(ctx context.Context, in *recoveryInput) (*struct{ Body Link }, error) {
	u, err := a.loadUser(ctx, permResetUserPassword, in.ID)
	if err != nil {
		return nil, err
	}
	duration := ""
	if in.Body != nil {
		duration = in.Body.TokenDuration
	}
	valid, err := a.tokenDuration(ctx, duration)
	if err != nil {
		return nil, err
	}
	base := web.Scheme(ctx) + "://" + requestHost(ctx)
	link, _, err := a.createRecoveryLink(ctx, u, base, valid)
	if err != nil {
		return nil, err
	}
	return &struct{ Body Link }{Body: Link{Link: link}}, nil
}

func (a *API) recoveryEmail(ctx context.Context, in *recoveryEmailInput) (*noContent, error) {
	u, err := a.loadUser(ctx, permResetUserPassword, in.ID)
	if err != nil {
		return nil, err
	}
	if u.Email == "" {
		return nil, fieldError("non_field_errors", "User does not have an email address set.")
	}
	var stageID *uuid.UUID
	duration := ""
	if in.Body != nil {
		stageID, duration = in.Body.EmailStage, in.Body.TokenDuration
	}
	if stageID == nil && in.EmailStage != "" {
		id, err := uuid.Parse(in.EmailStage)
		if err != nil {
			return nil, fieldError("email_stage", "Must be a valid UUID.")
		}
		stageID = &id
	}
	if stageID == nil {
		return nil, fieldError("email_stage", "This field is required.")
	}
	stage, err := a.emailStage(ctx, *stageID)
	if err != nil {
		return nil, err
	}
	valid, err := a.tokenDuration(ctx, duration)
	if err != nil {
		return nil, err
	}
	// The link goes to the user by mail, so it may point only at a host an
	// administrator configured, as the email stage's links (the Host header
	// is the client's to choose).
	brands, err := a.Store.ListBrands(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	host := requestHost(ctx)
	if !core.HostOfBrand(brands, host) {
		return nil, fieldError("non_field_errors", "This address ("+host+") is not a brand's domain; set the brand's domain "+
			"to the address users reach Gatehouse at, so that the link in the email points there.")
	}
	if a.Flows == nil || a.Flows.Mail == nil {
		return nil, fieldError("non_field_errors", "No mail sender is configured (email.*).")
	}
	link, expires, err := a.createRecoveryLink(ctx, u, web.Scheme(ctx)+"://"+host, valid)
	if err != nil {
		return nil, err
	}
	title := ""
	if b := core.MatchBrand(brands, host); b != nil {
		title = b.BrandingTitle
	}
	msg, err := stage.Compose(a.Flows.MailTemplates, u, link, valid, expires, title)
	if err != nil {
		var te *mail.TemplateError
		if errors.As(err, &te) {
			return nil, fieldError("non_field_errors", "The email stage's template cannot be used: "+err.Error())
		}
		return nil, err
	}
	if err := a.Flows.Mail.Send(ctx, msg); err != nil {
		if errors.Is(err, mail.ErrInvalid) {
			return nil, fieldError("non_field_errors", err.Error())
		}
		a.Log.Error("api: queueing a recovery email", "user", u.PK, "error", err)
		return nil, detailError(http.StatusInternalServerError, "The email could not be queued.")
	}
	s := stage.Settings()
	var caller *store.User
	if p, _ := ctx.Value(ctxPrincipal).(*principal); p != nil {
		caller = p.User
	}
	// What the email stage records for the messages it sends.
	a.events.Write(ctx, event.Event{Action: "email_sent", App: "gatehouse.api", User: caller,
		Context: map[string]any{"to": u.Email, "subject": s.Subject, "template": s.Template}})
	return &noContent{}, nil
}

// tokenDuration is how long a recovery link is valid: the request's
// token_duration, else the default_token_duration setting.
func (a *API) tokenDuration(ctx context.Context, requested string) (time.Duration, error) {
	if requested != "" {
		d, err := parseAuthentikDuration(requested)
		if err != nil {
			return 0, fieldError("token_duration", err.Error())
		}
		return d, nil
	}
	s, err := a.loadSettings(ctx)
	if err != nil {
		return 0, err
	}
	d, err := parseAuthentikDuration(s.DefaultTokenDuration)
	if err != nil {
		return 30 * time.Minute, nil // a setting saved before it was validated
	}
	return d, nil
}

// emailStage loads the email stage the caller named; one it may not see
// does not exist for it (authentik answers both "Email stage not found.").
func (a *API) emailStage(ctx context.Context, id uuid.UUID) (*email.Stage, error) {
	notFound := fieldError("non_field_errors", "Email stage not found.")
	if err := a.check(ctx, permViewStage, permViewStage, id.String()); err != nil {
		if errors.Is(err, errPermission) || errors.Is(err, errNotFound) {
			return nil, notFound
		}
		return nil, err
	}
	s, err := a.Store.StageByUUID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.Type != email.Type) {
		return nil, notFound
	} else if err != nil {
		return nil, a.storeError(err)
	}
	impl, err := email.New(s.Settings)
	if err != nil {
		return nil, fieldError("non_field_errors", "The email stage's settings are invalid: "+err.Error())
	}
	return impl.(*email.Stage), nil
}

// createRecoveryLink plans the current brand's recovery flow for u and
// stores the plan in u's recovery token (replacing the last one): the link
// under base and when it expires.
func (a *API) createRecoveryLink(ctx context.Context, u *store.User, base string, valid time.Duration) (string, time.Time, error) {
	if a.Flows == nil {
		return "", time.Time{}, fieldError("non_field_errors", "No recovery flow set.")
	}
	brands, err := a.Store.ListBrands(ctx)
	if err != nil {
		return "", time.Time{}, a.storeError(err)
	}
	b := core.MatchBrand(brands, requestHost(ctx))
	if b == nil || b.FlowRecovery == nil {
		return "", time.Time{}, fieldError("non_field_errors", "No recovery flow set.")
	}
	f, err := a.Store.FlowByUUID(ctx, *b.FlowRecovery)
	if errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, fieldError("non_field_errors", "No recovery flow set.")
	} else if err != nil {
		return "", time.Time{}, a.storeError(err)
	}
	// Planned as for an anonymous visitor (authentik sets AnonymousUser), so
	// a recovery flow that requires no authentication can be planned by a
	// signed-in administrator; its policies see u.
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "/if/flow/"+f.Slug+"/", nil)
	if err != nil {
		return "", time.Time{}, err
	}
	r.Host = requestHost(ctx)
	plan, err := a.Flows.PlanFor(r, f, u, email.Type)
	var denied flow.DeniedError
	if errors.As(err, &denied) {
		return "", time.Time{}, fieldError("non_field_errors", "Recovery flow not applicable to user")
	} else if err != nil {
		a.Log.Error("api: planning the recovery flow", "flow", f.Slug, "user", u.PK, "error", err)
		return "", time.Time{}, detailError(http.StatusInternalServerError, "Internal error.")
	}
	now := a.now()
	expires := now.Add(valid)
	link := flow.NewLink(base, f.Slug)
	identifier := a.uid(u.PK) + "-password-reset"
	tok, err := link.Token(plan, u.PK, identifier, "Recovery link for "+u.Username+" (flow "+f.Slug+")", expires)
	if err != nil {
		return "", time.Time{}, err
	}
	action := actionModelCreated
	if old, err := a.Store.TokenByIdentifier(ctx, identifier); err == nil {
		if old.Intent != store.IntentVerification || old.FlowPlan == "" {
			// Someone's own token under that name is not replaced.
			return "", time.Time{}, fieldError("non_field_errors", "Another token is named "+identifier+".")
		}
		tok.UUID, action = old.UUID, actionModelUpdated
		err = a.Store.UpdateToken(ctx, tok)
		if err != nil {
			return "", time.Time{}, a.storeError(err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, a.storeError(err)
	} else if err := a.Store.CreateToken(ctx, tok); err != nil {
		return "", time.Time{}, a.storeError(err)
	}
	// authentik's audit middleware records the FlowToken's save.
	a.audit(ctx, action, modelRef{"authentik_flows", "flowtoken", tok.UUID.String(), identifier},
		map[string]any{"user": map[string]any{"pk": u.PK, "username": u.Username}, "expires": expires.Format(time.RFC3339)})
	return link.URL, expires, nil
}
