package adminui

import "github.com/go-chi/chi/v5"

// mountA adds the pages of applications and providers, flows, stages and
// policies (their create, edit and delete pages, bindings and tests).
func (u *UI) mountA(r chi.Router) {
	u.mountRecovery(r) // the user page's Recovery section (users.go)
	r.Get("/applications/new/", u.newApp)
	r.Post("/applications/new/", u.createApp)
	r.Get("/applications/{slug}/edit/", u.editApp)
	r.Post("/applications/{slug}/edit/", u.saveApp)
	r.Post("/applications/{slug}/icon/", u.setIcon)
	r.Get("/applications/{slug}/delete/", u.confirmDeleteApp)
	r.Post("/applications/{slug}/delete/", u.deleteApp)
	u.mountBindings(r, "/applications/{slug}/policies/", u.appTarget)
	r.Get("/providers/oauth2/{id}/", u.oauth2Page)
	r.Get("/providers/oauth2/{id}/edit/", u.editOAuth2)
	r.Post("/providers/oauth2/{id}/edit/", u.saveOAuth2)
	r.Get("/providers/oauth2/{id}/delete/", u.confirmDeleteOAuth2)
	r.Post("/providers/oauth2/{id}/delete/", u.deleteOAuth2)

	r.Get("/flows/new/", u.newFlow)
	r.Post("/flows/new/", u.createFlow)
	r.Get("/flows/import/", u.importForm)
	r.Post("/flows/import/", u.importFlow)
	r.Get("/flows/{slug}/", u.flowPage)
	r.Get("/flows/{slug}/edit/", u.editFlow)
	r.Post("/flows/{slug}/edit/", u.saveFlow)
	r.Get("/flows/{slug}/delete/", u.confirmDeleteFlow)
	r.Post("/flows/{slug}/delete/", u.deleteFlow)
	r.Get("/flows/{slug}/export/", u.exportFlow)
	r.Post("/flows/{slug}/bindings/", u.bindStage)
	r.Get("/flows/{slug}/bindings/{id}/", u.stageBindingPage)
	r.Post("/flows/{slug}/bindings/{id}/", u.saveStageBinding)
	r.Post("/flows/{slug}/bindings/{id}/order/", u.saveOrder)
	r.Get("/flows/{slug}/bindings/{id}/delete/", u.confirmUnbindStage)
	r.Post("/flows/{slug}/bindings/{id}/delete/", u.unbindStage)
	u.mountBindings(r, "/flows/{slug}/policies/", u.flowTarget)
	u.mountBindings(r, "/flows/{slug}/bindings/{id}/policies/", u.stageBindingTarget)

	for _, k := range []*typedKind{stageKind, policyKind} {
		base := "/" + k.Plural + "/"
		r.Get(base, u.typedList(k))
		r.Get(base+"new/", u.typedNew(k))
		r.Post(base+"new/", u.typedCreate(k))
		r.Get(base+"{id}/", u.typedEdit(k))
		r.Post(base+"{id}/", u.typedSave(k))
		r.Get(base+"{id}/delete/", u.typedConfirmDelete(k))
		r.Post(base+"{id}/delete/", u.typedDelete(k))
	}
	r.Get("/policies/{id}/test/", u.policyTestForm)
	r.Post("/policies/{id}/test/", u.runPolicyTest)
}
