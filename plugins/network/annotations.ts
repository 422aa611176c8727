/** The annotation that picks a container's network: `bridge`, `cni:<name>` or `none`. */
export const NETWORK_ANNOTATION = 'io.hutch.network';
