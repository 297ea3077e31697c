-- The platform database's tables this program is a client of, exactly as sentinel-spec.md section 2 defines
-- them. The program never creates or alters these in a real platform database; this file is for local use
-- and the tests.

CREATE TABLE IF NOT EXISTS regions (
  pk BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  platform VARCHAR(64) NOT NULL,
  PRIMARY KEY (pk),
  UNIQUE KEY regions_id_unique (id),
  UNIQUE KEY regions_name_platform_unique (name, platform)
);

CREATE TABLE IF NOT EXISTS sentinels (
  pk BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id VARCHAR(64) NOT NULL,
  workspace_id VARCHAR(255) NOT NULL,
  project_id VARCHAR(255) NOT NULL,
  environment_id VARCHAR(255) NOT NULL,
  k8s_name VARCHAR(64) NOT NULL,
  k8s_address VARCHAR(255) NOT NULL,
  region_id VARCHAR(255) NOT NULL,
  image VARCHAR(255) NOT NULL,
  desired_state ENUM('running', 'standby', 'archived') NOT NULL DEFAULT 'running',
  health ENUM('unknown', 'paused', 'healthy', 'unhealthy') NOT NULL DEFAULT 'unknown',
  desired_replicas INT NOT NULL,
  available_replicas INT NOT NULL,
  cpu_millicores INT NOT NULL,
  memory_mib INT NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NULL,
  PRIMARY KEY (pk),
  UNIQUE KEY sentinels_id_unique (id),
  UNIQUE KEY sentinels_k8s_name_unique (k8s_name),
  UNIQUE KEY sentinels_k8s_address_unique (k8s_address),
  UNIQUE KEY one_env_per_region (environment_id, region_id),
  UNIQUE KEY unique_version_per_region (region_id, version),
  KEY idx_environment_region_health (environment_id, region_id, health)
);
