/* Config: defaults, shallow per-section merge, strict keys and types. */
#include <stdlib.h>

#include "core/config.h"
#include "wire/options.h"
#include "tap.h"

int main(void)
{
	{
		isol8_config off;
		isol8_err e = {0};
		const char *t = "{\"audit\":{\"enabled\":false},\"auth\":{\"enabled\":false},\"prebuiltImages\":[]}";
		ok(isol8_config_from_text(&off, t, strlen(t), "test", &e) == 0, "their disabled form still loads (%s)", e.msg);
		isol8_config_free(&off);
	}
	isol8_config c = {.root = jv_invalid()};
	isol8_err err = {0};
	const char *t = "{\"defaults\":{\"timeoutMs\":5000},\"network\":{\"whitelist\":[\"^a$\"]}}";
	ok(isol8_config_from_text(&c, t, strlen(t), "test", &err) == 0, "valid config loads");
	ok(config_num(&c, "defaults.timeoutMs", 0) == 5000, "section key overrides the default");
	is_str(config_str(&c, "defaults.memoryLimit", NULL), "512m", "other keys of the section keep defaults");
	is_str(config_str(&c, "defaults.sandboxSize", NULL), "64m", "sandboxSize defaults to 64m");
	jv w = config_get(&c, "network.whitelist");
	ok(jv_array_length(w) == 1, "arrays replace");
	ok(config_num(&c, "maxConcurrent", 0) == 10 && config_bool(&c, "cleanup.autoPrune", 0) == 1, "untouched sections stay");

	const char *bad[][2] = {
		{"{\"defaults\":{\"timeoutMS\":5}}", "unknown key \"defaults.timeoutMS\""},
		{"{\"defaults\":{\"timeoutMs\":\"5\"}}", "\"defaults.timeoutMs\" must be a non-negative number"},
		{"{\"defaults\":{\"network\":\"open\"}}", "must be one of"},
		{"{\"dependencies\":{}}", "unknown key \"dependencies\""},
		{"{\"poolSize\":{\"hot\":1}}", "poolSize"},
		{"{nope", "invalid JSON"},
		{"[]", "must be a JSON object"},
		/* enabled but not built: refused, never accepted and ignored */
		{"{\"remoteCode\":{\"enabled\":true}}", "\"remoteCode.enabled\" is true"},
		{"{\"audit\":{\"destination\":\"kafka\"}}", "must be one of"},
		{"{\"audit\":{\"enabled\":true,\"postLogScript\":\"/nonexistent/x\"}}", "\"audit.postLogScript\" /nonexistent/x cannot be run"},
		{"{\"audit\":{\"enabled\":true,\"postLogScript\":\"x.sh\"}}", "must be an absolute path"},
		{"{\"serve\":{\"tenants\":{\"acme\":{\"maxConcurrent\":0}}}}", "serve.tenants.acme must be"},
		{"{\"serve\":{\"tenants\":{\"acme\":{\"maxQueue\":2}}}}", "serve.tenants.acme must be"},
		{"{\"serve\":{\"tenants\":[]}}", "serve.tenants"},
		{"{\"poolImages\":\"py\"}", "poolImages"},
		{"{\"prebuiltImages\":[{\"tag\":\"t\",\"runtime\":\"python\",\"installPackages\":[1]}]}",
		 "prebuiltImages[0] needs"},
		/* inside an entry as at the top: a typo is refused, never ignored */
		{"{\"prebuiltImages\":[{\"tag\":\"typo\",\"runtime\":\"bash\",\"setup\":\"echo b\"}]}",
		 "prebuiltImages[0]: unknown key \"setup\""},
		{"{\"prebuiltImages\":[{\"tag\":\"t\",\"runtime\":\"bash\",\"setupScript\":\"true\",\"bogus\":1}]}",
		 "prebuiltImages[0]: unknown key \"bogus\""},
		{"{\"outputs\":{\"maxCount\":0}}", "\"outputs.maxCount\" must be a whole number from 1 to 1000, not 0"},
		{"{\"outputs\":{\"maxCount\":2.5}}", "\"outputs.maxCount\" must be a whole number from 1 to 1000, not 2.5"},
		{"{\"outputs\":{\"maxPixels\":\"4m\"}}", "\"outputs.maxPixels\" must be a whole number from 1 to 100000000, not a string"},
		{"{\"outputs\":{\"maxBytes\":1e9}}", "\"outputs.maxBytes\" must be a whole number from 1 to 67108864"},
		{"{\"outputs\":{\"enabled\":\"yes\"}}", "\"outputs.enabled\" must be true or false"},
		{"{\"outputs\":{\"formats\":[\"png\"]}}", "unknown key \"outputs.formats\""},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err.msg[0] = 0;
		ok(isol8_config_from_text(&c, bad[i][0], strlen(bad[i][0]), "test", &err) < 0 && strstr(err.msg, bad[i][1]),
		   "refused: %s (%s)", bad[i][0], err.msg);
	}
	ok(config_num(&c, "defaults.timeoutMs", 0) == 5000, "a refused config leaves the loaded one unchanged");
	{
		isol8_config o;
		isol8_options opt;
		const char *ot = "{\"outputs\":{\"maxCount\":3,\"maxBytes\":1024}}";
		ok(isol8_config_from_text(&o, ot, strlen(ot), "test", &err) == 0 && isol8_options_from_config(&opt, &o, &err) == 0 &&
			   opt.outputs_enabled && opt.outputs_max_count == 3 && opt.outputs_max_bytes == 1024 &&
			   opt.outputs_max_pixels == 4000000,
		   "outputs.* reach the options, the defaults kept for what is not given");
		isol8_options_free(&opt);
		isol8_config_free(&o);
	}
	char *d = config_describe(&c);
	ok(strstr(d, "Isol8 Configuration") && strstr(d, "Timeout:         5000ms"), "human description");
	free(d);
	isol8_config_free(&c);
	return done_testing();
}
