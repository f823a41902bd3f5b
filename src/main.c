/*
 * main.c - start-up order, signals and exit status of schematic-streamd.
 *
 * Owns struct streamd: the configuration, the lws context (the one event
 * loop; everything else is a callback on it), the hub, the stream socket,
 * the control socket and the upstream session. Start-up is a fixed
 * sequence; any failure before the loop runs exits with a documented
 * status. Signals arrive through a signalfd watched by the loop, so no
 * handler runs asynchronously.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "config.h"
#include "control.h"
#include "hub.h"
#include "listener.h"
#include "log.h"
#include "rawio.h"
#include "secret.h"
#include "service.h"
#include "stream.h"
#include "upstream.h"
#include "url.h"
#include "util.h"
#include "wsconn.h"

#ifndef STREAMD_CONFIG_FILE
#define STREAMD_CONFIG_FILE "/etc/schematic-streamd/schematic-streamd.conf"
#endif

/* log_target's values are log.h's targets, in the same order. */
_Static_assert((int)CONFIG_LOG_TARGET_AUTO == (int)LOG_TARGET_AUTO &&
    (int)CONFIG_LOG_TARGET_JOURNAL == (int)LOG_TARGET_JOURNAL &&
    (int)CONFIG_LOG_TARGET_STDERR == (int)LOG_TARGET_STDERR,
    "log targets differ");

/* How long shutdown may wait for the upstream's close handshake. */
#define MAIN_STOP_GRACE_MS	800

struct streamd {
	struct config		 cfg;
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	struct hub		*hub;
	struct stream		*stream;
	struct upstream		*upstream;
	struct control		*control;
	struct service		*service;
	char			*ws_url;
	int			 argc;		/* kept to re-read on SIGHUP */
	char			**argv;
	int			 stream_fd;
	char			*stream_bound;	/* a socket file we created */
	int			 control_fd;
	char			*control_bound;
	int			 signal_fd;
	int			 stopping;
	int			 done;
	int			 exit_status;
	lws_sorted_usec_list_t	 sul_stop;
};

static int	main_signal_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);
static void	main_reload(struct streamd *);

static const struct lws_protocols main_protocols[] = {
	/* Index 0 also receives every wsi's WSI_DESTROY. */
	{ "streamd-upstream", wsconn_callback, 0, 0, 0, NULL, 0 },
	STREAM_PROTOCOLS,
	CONTROL_PROTOCOLS,
	{ "streamd-signal", main_signal_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Equal strings, NULL equal to NULL only. */
static int
main_str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* "WHAT: CAUSE", consuming CAUSE. */
static char *
main_prefix(const char *what, char *cause)
{
	char	*s;

	xasprintf(&s, "%s: %s", what, cause);
	free(cause);
	return s;
}

/* Route libwebsockets' own messages into our log, at debug level. */
static void
main_lws_log(int level, const char *line)
{
	size_t	len = strcspn(line, "\n");

	(void)level;
	log_debug("lws: %.*s", (int)len, line);
}

/* The loop should end now with STATUS. */
static void
main_done(struct streamd *sd, int status)
{
	sd->done = 1;
	sd->exit_status = status;
	lws_cancel_service(sd->ctx);
}

/* Upstream callback: ready (connected, subscribed, snapshot complete). */
static void
main_upstream_ready(void *arg)
{
	struct streamd	*sd = arg;

	service_upstream_ready(sd->service);
}

/* Upstream callback: its state changed; so does STATUS=. */
static void
main_upstream_state(void *arg)
{
	struct streamd	*sd = arg;

	if (sd->service != NULL)
		service_update(sd->service);
}

/* Upstream callback: the session is over (stopped or fatal). */
static void
main_upstream_finished(void *arg, int status)
{
	struct streamd	*sd = arg;

	main_done(sd, sd->stopping ? 0 : status);
}

/* The upstream did not finish closing within the grace period. */
static void
main_stop_deadline(lws_sorted_usec_list_t *sul)
{
	struct streamd	*sd = lws_container_of(sul, struct streamd, sul_stop);

	log_debug("upstream close not acknowledged in time; exiting");
	main_done(sd, 0);
}

/* SIGTERM/SIGINT: close the upstream cleanly, then leave the loop. */
static void
main_stop(struct streamd *sd, const char *signame)
{
	if (sd->stopping) {
		main_done(sd, 0);
		return;
	}
	log_info("%s received, stopping", signame);
	sd->stopping = 1;
	service_stopping(sd->service);
	lws_sul_schedule(sd->ctx, 0, &sd->sul_stop, main_stop_deadline,
	    MAIN_STOP_GRACE_MS * LWS_US_PER_MS);
	upstream_stop(sd->upstream);
}

/* lws callback of the signalfd. */
static int
main_signal_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct streamd			*sd = lws_get_opaque_user_data(wsi);
	struct signalfd_siginfo		 si;

	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_RAW_RX_FILE || sd == NULL)
		return 0;
	while (read(sd->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
			main_stop(sd, "SIGTERM");
			break;
		case SIGINT:
			main_stop(sd, "SIGINT");
			break;
		case SIGHUP:
			if (!sd->stopping)
				main_reload(sd);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Block the signals we handle and return a signalfd for them. */
static int
main_signals(void)
{
	sigset_t	set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Make room for max_readers and max_control_clients plus our own. */
static unsigned
main_fd_limit(const struct config *cfg)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)cfg->max_readers +
			    cfg->max_control_clients + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
			log_warn("descriptor limit %llu is below max_readers "
			    "(%u) + max_control_clients (%u) + 64",
			    (unsigned long long)rl.rlim_cur, cfg->max_readers,
			    cfg->max_control_clients);
	}
	return (unsigned)want;
}

/* Create the event loop. */
static int
main_context(struct streamd *sd)
{
	struct lws_context_creation_info	info;

	lws_set_log_level(log_get_level() >= LOG_DEBUG ?
	    LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR | LLL_WARN, main_lws_log);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = main_protocols;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.fd_limit_per_thread = main_fd_limit(&sd->cfg);
	/* No lws TLS and no lws client: wsconn.c dials and speaks OpenSSL. */
	if ((sd->ctx = lws_create_context(&info)) == NULL)
		return -1;
	sd->vhost = lws_get_vhost_by_name(sd->ctx, "default");
	return sd->vhost != NULL ? 0 : -1;
}

/* Watch the signalfd from the loop. */
static int
main_watch_signals(struct streamd *sd)
{
	return rawio_adopt(sd->vhost, sd->signal_fd, "streamd-signal", sd) !=
	    NULL ? 0 : -1;
}

/* Remove the socket files we created (on exit). */
static void
main_unlink_sockets(struct streamd *sd)
{
	listener_unlink(sd->stream_bound);
	listener_unlink(sd->control_bound);
	free(sd->stream_bound);
	free(sd->control_bound);
	sd->stream_bound = sd->control_bound = NULL;
}

/*
 * The listening sockets: those systemd passed (by name), else bound at the
 * configured paths (the control socket only if one is configured). Only
 * sockets we bound are unlinked at exit.
 */
static int
main_sockets(struct streamd *sd, char **cause)
{
	int	n;

	if ((n = listener_from_systemd(sd->cfg.stream_socket,
	    sd->cfg.control_socket, &sd->stream_fd, &sd->control_fd,
	    cause)) == -1)
		return -1;
	if (n > 0)
		log_info("socket activation: %s%s%s", sd->stream_fd != -1 ?
		    "stream" : "", n > 1 ? " and " : "",
		    sd->control_fd != -1 ? "control" : "");
	if (sd->stream_fd == -1) {
		sd->stream_fd = listener_open(sd->cfg.stream_socket,
		    sd->cfg.socket_mode, sd->cfg.socket_group, cause);
		if (sd->stream_fd == -1) {
			*cause = main_prefix("stream socket", *cause);
			return -1;
		}
		sd->stream_bound = xstrdup(sd->cfg.stream_socket);
	}
	if (sd->control_fd == -1 && sd->cfg.control_socket != NULL) {
		sd->control_fd = listener_open(sd->cfg.control_socket,
		    sd->cfg.socket_mode, sd->cfg.socket_group, cause);
		if (sd->control_fd == -1) {
			*cause = main_prefix("control socket", *cause);
			return -1;
		}
		sd->control_bound = xstrdup(sd->cfg.control_socket);
	}
	return 0;
}

/* Watch the control socket, if there is one, for schematic-streamctl. */
static int
main_control(struct streamd *sd, char **cause)
{
	struct control_sources	src;

	if (sd->control_fd == -1)
		return 0;
	src.upstream = sd->upstream;
	src.hub = sd->hub;
	src.stream = sd->stream;
	sd->control = control_new(sd->vhost, sd->control_fd, &sd->cfg, &src,
	    cause);
	return sd->control != NULL ? 0 : -1;
}

/* Parse the command line and configuration; exits on -h, -V, -t, errors. */
static void
main_configure(struct streamd *sd, int argc, char **argv)
{
	struct config_cli	 cli;
	char			*cause = NULL;
	int			 rc;

	config_init(&sd->cfg);
	rc = config_from_args(&sd->cfg, &cli, argc, argv, STREAMD_CONFIG_FILE,
	    &cause);
	if (rc != 0) {
		fprintf(stderr, "schematic-streamd: %s\n", cause);
		if (rc == -2)
			fprintf(stderr, "Try 'schematic-streamd --help'.\n");
		exit(EXIT_CONFIG);
	}
	if (cli.help) {
		config_usage(stdout);
		exit(0);
	}
	if (cli.version) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		exit(0);
	}
	if (url_convert(sd->cfg.url, &sd->ws_url, &cause) != 0) {
		fprintf(stderr, "schematic-streamd: url: %s\n", cause);
		exit(EXIT_CONFIG);
	}
	if (cli.dump) {
		config_dump(&sd->cfg, stdout);
		exit(0);
	}
	if (cli.check_only) {
		printf("configuration ok (datastream %s)\n", sd->ws_url);
		exit(0);
	}
}

/* Apply what a new configuration changes; log what needs a restart. */
static void
main_apply_limits(struct streamd *sd, const struct config *old)
{
	const struct config	*cfg = &sd->cfg;

	log_init((enum log_target)cfg->log_target, (int)cfg->log_level);
	hub_set_queue_limit(sd->hub, cfg->reader_queue_limit);
	stream_set_max_readers(sd->stream, cfg->max_readers);
	if (sd->control != NULL)
		control_set_limits(sd->control, cfg->control_line_max,
		    cfg->max_control_clients);
	if (!main_str_eq(old->stream_socket, cfg->stream_socket) ||
	    !main_str_eq(old->control_socket, cfg->control_socket) ||
	    !main_str_eq(old->socket_group, cfg->socket_group) ||
	    old->socket_mode != cfg->socket_mode)
		log_warn("socket paths, mode and group take effect at the next "
		    "restart");
}

/*
 * SIGHUP: re-read the configuration with the original command line and
 * apply it; a configuration with an error is rejected and the running one
 * stays. The service manager hears RELOADING=1, then READY=1 either way.
 */
static void
main_reload(struct streamd *sd)
{
	struct config		 old, cfg;
	struct config_cli	 cli;
	char			*ws_url = NULL, *key = NULL, *cause = NULL;
	int			 tls_changed;

	service_reloading(sd->service);
	config_init(&cfg);
	if (config_from_args(&cfg, &cli, sd->argc, sd->argv,
	    STREAMD_CONFIG_FILE, &cause) != 0 ||
	    url_convert(cfg.url, &ws_url, &cause) != 0 ||
	    ((cfg.api_key_file != NULL || secret_credential_present()) &&
	    secret_load_api_key(cfg.api_key_file, &key, &cause) != 0))
		goto reject;

	/* The session reads sd->cfg: swap, then reconfigure it. */
	old = sd->cfg;
	sd->cfg = cfg;
	tls_changed = !main_str_eq(old.ca_file, cfg.ca_file);
	if (upstream_reconfigure(sd->upstream, ws_url, key, tls_changed,
	    &cause) != 0) {
		sd->cfg = old;
		goto reject;
	}
	main_apply_limits(sd, &old);
	config_free(&old);
	free(sd->ws_url);
	sd->ws_url = ws_url;
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	log_event(LOG_INFO, MSGID_CONFIG_RELOADED, NULL,
	    "configuration reloaded");
	service_reloaded(sd->service, sd->cfg.max_reconnect_attempts);
	return;

reject:
	log_event(LOG_ERR, MSGID_CONFIG_REJECTED, NULL, "configuration reload "
	    "rejected, the running configuration stays: %s", cause);
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cause);
	free(ws_url);
	config_free(&cfg);
	service_reloaded(sd->service, sd->cfg.max_reconnect_attempts);
}

int
main(int argc, char **argv)
{
	struct streamd			 sd;
	static const struct hub_callbacks hcb = {
		.want_write = stream_hub_want_write,
		.flush = stream_hub_flush,
		.cut_off = stream_hub_cut_off,
	};
	struct upstream_callbacks	 ucb = {
		.ready = main_upstream_ready,
		.state_changed = main_upstream_state,
		.finished = main_upstream_finished,
		.arg = &sd,
	};
	char				*api_key = NULL, *cause = NULL;

	memset(&sd, 0, sizeof sd);
	sd.stream_fd = -1;
	sd.control_fd = -1;
	sd.argc = argc;
	sd.argv = argv;
	main_configure(&sd, argc, argv);
	log_init((enum log_target)sd.cfg.log_target, (int)sd.cfg.log_level);

	sd.exit_status = 1;
	if (secret_load_api_key(sd.cfg.api_key_file, &api_key, &cause) != 0) {
		log_err("%s", cause);
		sd.exit_status = EXIT_CONFIG;
		goto early;
	}
	if ((sd.signal_fd = main_signals()) == -1) {
		log_err("cannot set up signals: %s", strerror(errno));
		goto early;
	}
	if (main_sockets(&sd, &cause) != 0) {
		log_err("%s", cause);
		goto early;
	}
	if (main_context(&sd) != 0 || main_watch_signals(&sd) != 0) {
		log_err("cannot create the event loop");
		goto early;
	}
	sd.hub = hub_new(&hcb, sd.cfg.reader_queue_limit);
	sd.stream = stream_new(sd.vhost, sd.hub, sd.stream_fd,
	    sd.cfg.max_readers, &cause);
	if (sd.stream != NULL)
		sd.upstream = upstream_new(sd.ctx, &sd.cfg, sd.ws_url, api_key,
		    sd.hub, &ucb, &cause);
	explicit_bzero(api_key, strlen(api_key));
	free(api_key);
	api_key = NULL;
	if (sd.stream == NULL || sd.upstream == NULL ||
	    main_control(&sd, &cause) != 0) {
		log_err("%s", cause);
		goto out;
	}
	sd.service = service_new(sd.ctx, sd.upstream, sd.hub,
	    sd.cfg.max_reconnect_attempts);
	sd.exit_status = 0;

	log_event(LOG_INFO, MSGID_STARTED, NULL, "%s %s started: datastream "
	    "%s, stream socket %s, control socket %s", PACKAGE_NAME,
	    PACKAGE_VERSION, sd.ws_url, sd.stream_bound != NULL ?
	    sd.stream_bound : "from systemd", sd.control_bound != NULL ?
	    sd.control_bound : sd.control_fd != -1 ? "from systemd" : "none");
	upstream_start(sd.upstream);
	while (!sd.done)
		if (lws_service(sd.ctx, 0) < 0)
			break;

out:
	lws_sul_cancel(&sd.sul_stop);
	service_free(sd.service);
	lws_context_destroy(sd.ctx);
	sd.ctx = NULL;
	control_free(sd.control);
	upstream_free(sd.upstream);
	stream_free(sd.stream);
	hub_free(sd.hub);
	log_event(LOG_INFO, MSGID_STOPPED, NULL, "stopped (exit status %d)",
	    sd.exit_status);
early:
	/* A failure before the loop joins here, with less to release. */
	lws_context_destroy(sd.ctx);
	main_unlink_sockets(&sd);
	free(api_key);
	free(cause);
	free(sd.ws_url);
	config_free(&sd.cfg);
	return sd.exit_status;
}
