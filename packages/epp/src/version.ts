declare const __PACKAGE_VERSION__: string | undefined;

/** The package version, injected at build time (`0.0.0-test` when running from source). */
export const eppVersion: string =
  typeof __PACKAGE_VERSION__ === 'string' ? __PACKAGE_VERSION__ : '0.0.0-test';
