package grpc

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"

	"github.com/tokengate/tokengate/scopes"
)

// rules are Config.Methods and Config.Public, keyed for a lookup that does
// not allocate: whole services by "/pkg.Service/", which is a prefix of
// every full method name of the service.
type rules struct {
	methods, services             map[string]scopes.Requirement
	publicMethods, publicServices map[string]bool
}

func newRules(methods map[string]scopes.Requirement, public []string) (rules, error) {
	r := rules{
		methods: map[string]scopes.Requirement{}, services: map[string]scopes.Requirement{},
		publicMethods: map[string]bool{}, publicServices: map[string]bool{},
	}
	for name, req := range methods {
		key, service, err := parseName(name)
		if err != nil {
			return rules{}, fmt.Errorf("grpc: Config.Methods: %w", err)
		}
		if service {
			r.services[key] = req
		} else {
			r.methods[key] = req
		}
	}
	for _, name := range public {
		key, service, err := parseName(name)
		if err != nil {
			return rules{}, fmt.Errorf("grpc: Config.Public: %w", err)
		}
		_, inMethods := r.methods[key]
		if service {
			_, inMethods = r.services[key]
			r.publicServices[key] = true
		} else {
			r.publicMethods[key] = true
		}
		if inMethods {
			return rules{}, fmt.Errorf("grpc: %q is both public and in Config.Methods", name)
		}
	}
	return r, nil
}

// parseName checks a full method name, "/pkg.Service/Method", or a whole
// service, "/pkg.Service/*", which it returns as "/pkg.Service/".
func parseName(name string) (key string, service bool, err error) {
	svc, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if !strings.HasPrefix(name, "/") || !ok || svc == "" || method == "" || strings.Contains(method, "/") {
		return "", false, fmt.Errorf("%q is neither a full method name, \"/pkg.Service/Method\", nor a service, \"/pkg.Service/*\"", name)
	}
	if method == "*" {
		return name[:len(name)-1], true, nil
	}
	return name, false, nil
}

// lookup returns the requirement of method, or whether it is public; ok is
// false when no rule names it.
func (r rules) lookup(method string) (req scopes.Requirement, public, ok bool) {
	if req, ok := r.methods[method]; ok {
		return req, false, true
	}
	if r.publicMethods[method] {
		return req, true, true
	}
	service := method[:strings.LastIndexByte(method, '/')+1]
	if req, ok := r.services[service]; ok {
		return req, false, true
	}
	return req, r.publicServices[service], r.publicServices[service]
}

// ServiceInfoProvider is what [Interceptor.CheckCoverage] reads: a
// *grpc.Server, or anything else that lists services the same way.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// CheckCoverage compares the rules with the services registered on srv
// (a *grpc.Server): it returns an error naming every method that no rule
// covers, which every call would be refused, and every rule of
// Config.Methods or Config.Public that names a method or service srv does
// not have, which is likely a typo. Public whole services that srv does
// not have are not reported, so that [HealthAndReflection] can be listed
// whether or not both services are registered. Call it at start-up, after
// registering the services.
func (i *Interceptor) CheckCoverage(srv ServiceInfoProvider) error {
	var uncovered, unknown []string
	known := map[string]bool{}
	for svc, info := range srv.GetServiceInfo() {
		known["/"+svc+"/"] = true
		for _, m := range info.Methods {
			name := "/" + svc + "/" + m.Name
			known[name] = true
			if _, _, ok := i.rules.lookup(name); !ok {
				uncovered = append(uncovered, name)
			}
		}
	}
	for _, set := range []map[string]scopes.Requirement{i.rules.methods, i.rules.services} {
		for name := range set {
			if !known[name] {
				unknown = append(unknown, name)
			}
		}
	}
	for name := range i.rules.publicMethods {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	var errs []string
	if len(uncovered) > 0 {
		slices.Sort(uncovered)
		errs = append(errs, fmt.Sprintf("no rule for %s (every call is refused: add them to Config.Methods or Config.Public)", strings.Join(uncovered, ", ")))
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		errs = append(errs, fmt.Sprintf("rules for what the server does not have: %s", strings.Join(unknown, ", ")))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New("grpc: " + strings.Join(errs, "; "))
}
