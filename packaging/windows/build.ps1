# Build the Windows bundle and installer: Tesseract, PyInstaller, smoke test, Inno Setup.
#
#   pwsh packaging\windows\build.ps1 [-TesseractExe C:\path\tesseract.exe] [-SkipSmoke]
#
# Output: dist\healthprep-desktop\ and dist\HealthPrep-Desktop-<version>-windows-x64-setup.exe.
# Needs: Python 3.11-3.13 with the project installed (.venv\Scripts\python.exe, or PYTHON), Inno
# Setup 6 (ISCC.exe; installed with Chocolatey when missing), internet access for Tesseract
# unless -TesseractExe names an existing install (see fetch_tesseract.ps1).
# Signing (optional): WINDOWS_SIGN_CERT_SHA1 = thumbprint of a code-signing certificate in the
# certificate store; WINDOWS_TIMESTAMP_URL (default http://timestamp.digicert.com); SIGNTOOL =
# path of signtool.exe (default: the newest Windows SDK one). Both executables, the installer
# and its uninstaller are then signed.
param(
    [string]$TesseractExe = "",
    [switch]$SkipSmoke
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

$Py = if ($env:PYTHON) { $env:PYTHON } elseif (Test-Path ".venv\Scripts\python.exe") { ".venv\Scripts\python.exe" } else { "python" }
& $Py -c "import PyInstaller" 2>$null
if ($LASTEXITCODE -ne 0) { Invoke-Checked $Py @("-m", "pip", "install", "-q", "-e", ".[packaging]") }
$Version = (& $Py -c "import healthprep_desktop as h; print(h.__version__)").Trim()
$Digits = @([regex]::Matches($Version, "\d+") | ForEach-Object { $_.Value } | Select-Object -First 4)
while ($Digits.Count -lt 4) { $Digits += "0" }
$NumericVersion = $Digits -join "."

# --- Tesseract ---------------------------------------------------------------------------------
if (-not $TesseractExe) {
    $TesseractExe = (& (Join-Path $PSScriptRoot "fetch_tesseract.ps1") | Select-Object -Last 1)
}
$Stage = Join-Path $Root "build\tesseract-stage"
Invoke-Checked $Py @("packaging\stage_tesseract.py", "--tesseract", $TesseractExe, "--stage", $Stage)
$env:HEALTHPREP_TESSERACT_STAGE = $Stage

# --- Bundle ------------------------------------------------------------------------------------
Write-Host "building HealthPrep Desktop $Version"
Invoke-Checked $Py @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", "dist",
    "--workpath", "build\pyinstaller", "packaging\healthprep_desktop.spec")
$Bundle = Join-Path $Root "dist\healthprep-desktop"
$Cli = Join-Path $Bundle "healthprep-desktop.exe"

# --- Signing tool (optional) -----------------------------------------------------------------------
$SignCommand = $null
if ($env:WINDOWS_SIGN_CERT_SHA1) {
    $SignTool = $env:SIGNTOOL
    if (-not $SignTool) {
        $SignTool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" |
            Sort-Object FullName | Select-Object -Last 1 -ExpandProperty FullName
    }
    if (-not $SignTool) { throw "signtool.exe not found; install the Windows SDK or set SIGNTOOL" }
    $Timestamp = if ($env:WINDOWS_TIMESTAMP_URL) { $env:WINDOWS_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
    $SignArgs = @("sign", "/sha1", $env:WINDOWS_SIGN_CERT_SHA1, "/fd", "sha256", "/tr", $Timestamp, "/td", "sha256")
    foreach ($exe in Get-ChildItem $Bundle -Filter "healthprep-desktop*.exe") {
        Invoke-Checked $SignTool ($SignArgs + @($exe.FullName))
    }
    $SignCommand = "`"$SignTool`" $($SignArgs -join ' ') `$f"
}

# --- Smoke test of the bundle ------------------------------------------------------------------
if (-not $SkipSmoke) {
    $SmokeHome = Join-Path ([System.IO.Path]::GetTempPath()) ("healthprep-smoke-" + [guid]::NewGuid())
    $env:HEALTHPREP_HOME = $SmokeHome
    $env:QT_QPA_PLATFORM = "offscreen"
    try {
        Invoke-Checked $Cli @("--version")
        Invoke-Checked $Cli @("--bundle-check", "--require-ocr")
        $Help = & $Cli --help
        if ($Help -match "self-test") { Invoke-Checked $Cli @("self-test") }
        else { Write-Host "no self-test subcommand in this build yet; skipped" }
    } finally {
        Remove-Item Env:HEALTHPREP_HOME, Env:QT_QPA_PLATFORM
        Remove-Item -Recurse -Force $SmokeHome -ErrorAction SilentlyContinue
    }
}

# --- Installer -----------------------------------------------------------------------------------
$Iscc = Get-Command ISCC.exe -ErrorAction SilentlyContinue | Select-Object -ExpandProperty Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) {
    Invoke-Checked "choco" @("install", "innosetup", "-y", "--no-progress")
}
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 (ISCC.exe) not found" }
$IsccArgs = @("/Qp", "/DAppVersion=$Version", "/DAppNumericVersion=$NumericVersion",
    "/DSourceDir=$Bundle", "/DOutputDir=$(Join-Path $Root 'dist')")
if ($SignCommand) { $IsccArgs += @("/DSignInstaller", "/Shealthprep=$SignCommand") }
Invoke-Checked $Iscc ($IsccArgs + @("packaging\windows\healthprep.iss"))
$Setup = Join-Path $Root "dist\HealthPrep-Desktop-$Version-windows-x64-setup.exe"
if (-not (Test-Path $Setup)) { throw "Inno Setup did not produce $Setup" }
$BundleMb = [math]::Round(((Get-ChildItem $Bundle -Recurse -File | Measure-Object Length -Sum).Sum) / 1MB)
$SetupMb = [math]::Round((Get-Item $Setup).Length / 1MB)
Write-Host "bundle: $BundleMb MB; installer: $SetupMb MB -> $Setup"
