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
#include "stream.h"
#include "upstream.h"
#include "url.h"
#include "util.h"

#ifndef STREAMD_CONFIG_FILE
#define STREAMD_CONFIG_FILE "/etc/schematic-streamd/schematic-streamd.conf"
#endif

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
	char			*ws_url;
	int			 stream_fd;
	int			 stream_bound;	/* we created the socket file */
	int			 control_fd;
	int			 control_bound;
	int			 signal_fd;
	int			 stopping;
	int			 done;
	int			 exit_status;
	lws_sorted_usec_list_t	 sul_stop;
};

static int	main_signal_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);

static const struct lws_protocols main_protocols[] = {
	/* Index 0 also receives every wsi's WSI_DESTROY. */
	{ "streamd-upstream", upstream_callback, 0, 0, 0, NULL, 0 },
	STREAM_PROTOCOLS,
	CONTROL_PROTOCOLS,
	{ "streamd-signal", main_signal_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

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
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (sd->cfg.ca_file != NULL) {
		/* ca_file alone: the system store is not consulted. */
		info.client_ssl_ca_filepath = sd->cfg.ca_file;
		info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	}
	/* Our handshake timer must fire before lws's own. */
	info.timeout_secs = (unsigned)(sd->cfg.handshake_timeout_ms / 1000) + 5;
	info.connect_timeout_secs = info.timeout_secs;
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
	if (sd->stream_bound)
		listener_unlink(sd->cfg.stream_socket);
	if (sd->control_bound)
		listener_unlink(sd->cfg.control_socket);
}

/* Bind the control socket, unless the configuration has none. */
static int
main_control_socket(struct streamd *sd, char **cause)
{
	if (sd->cfg.control_socket == NULL)
		return 0;
	sd->control_fd = listener_open(sd->cfg.control_socket,
	    sd->cfg.socket_mode, sd->cfg.socket_group, cause);
	if (sd->control_fd == -1)
		return -1;
	sd->control_bound = 1;
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

int
main(int argc, char **argv)
{
	struct streamd			 sd;
	struct upstream_callbacks	 ucb;
	static const struct hub_callbacks hcb = {
		.want_write = stream_hub_want_write,
		.flush = stream_hub_flush,
		.cut_off = stream_hub_cut_off,
	};
	char				*api_key = NULL, *cause = NULL;

	memset(&sd, 0, sizeof sd);
	sd.stream_fd = -1;
	sd.control_fd = -1;
	main_configure(&sd, argc, argv);
	log_init(LOG_TARGET_AUTO, (int)sd.cfg.log_level);

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
	sd.stream_fd = listener_open(sd.cfg.stream_socket, sd.cfg.socket_mode,
	    sd.cfg.socket_group, &cause);
	if (sd.stream_fd == -1) {
		log_err("stream socket: %s", cause);
		goto early;
	}
	sd.stream_bound = 1;
	if (main_control_socket(&sd, &cause) != 0) {
		log_err("control socket: %s", cause);
		goto early;
	}

	if (main_context(&sd) != 0 || main_watch_signals(&sd) != 0) {
		log_err("cannot create the event loop");
		goto early;
	}
	sd.hub = hub_new(&hcb, sd.cfg.reader_queue_limit);
	sd.stream = stream_new(sd.vhost, sd.hub, sd.stream_fd,
	    sd.cfg.max_readers, &cause);
	ucb.ready = NULL;
	ucb.state_changed = NULL;
	ucb.finished = main_upstream_finished;
	ucb.arg = &sd;
	sd.upstream = upstream_new(sd.ctx, sd.vhost, &sd.cfg, sd.ws_url,
	    api_key, sd.hub, &ucb, &cause);
	explicit_bzero(api_key, strlen(api_key));
	free(api_key);
	api_key = NULL;
	if (sd.stream == NULL || sd.upstream == NULL ||
	    main_control(&sd, &cause) != 0) {
		log_err("%s", cause);
		goto out;
	}
	sd.exit_status = 0;

	log_event(LOG_INFO, MSGID_STARTED, NULL, "%s %s started: datastream "
	    "%s, stream socket %s, control socket %s", PACKAGE_NAME,
	    PACKAGE_VERSION, sd.ws_url, sd.cfg.stream_socket,
	    sd.cfg.control_socket != NULL ? sd.cfg.control_socket : "none");
	upstream_start(sd.upstream);
	while (!sd.done)
		if (lws_service(sd.ctx, 0) < 0)
			break;

out:
	lws_sul_cancel(&sd.sul_stop);
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
