/*
 * cl_keygen.h - `trailguard keygen`: make a CURVE keypair for a stage.
 *
 * DESIGN
 * One call to zmq_curve_keypair (libzmq's own generator, seeded from the
 * system's random source) through tg_curve_keypair_generate(), written in
 * the key file format of tg_curve.h.  With --out FILE the keypair goes to
 * FILE (created 0600; an existing file is never overwritten) and the
 * public key alone to FILE.pub (0644, the file to hand to the peers:
 * curve.server_public_key_file or curve.authorized_keys); the public key
 * is printed as a `public-key = ...` line.  Without --out the keypair
 * file text goes to stdout.
 */
#ifndef CL_KEYGEN_H
#define CL_KEYGEN_H

/* argv[0] is "keygen".  Return the exit status. */
int cl_keygen_main(int argc, char **argv);

#endif /* CL_KEYGEN_H */
