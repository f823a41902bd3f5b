/*
 * secret.h - where the API key comes from. It never comes from the command
 * line and is never logged.
 */
#ifndef STREAMD_SECRET_H
#define STREAMD_SECRET_H

int	secret_load_api_key(const char *, char **, char **);
int	secret_credential_present(void);

#endif
